import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { PROTO_ROOT, protoFileOf, type ServiceKind } from './proto.js';

type ReflectedDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** Pure: `positions` -> `PositionsEntry`, `low_water_mark` -> `LowWaterMarkEntry` (protoc's name for a map field's entry type). */
function mapEntryName(field: string): string {
  return `${field.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Entry`;
}

/**
 * protobufjs names a map field's entry type after the field (`Positions`), where protoc and every
 * other runtime require `<Field>Entry` and refuse the whole file otherwise (Python: "map_entry
 * should not be set explicitly"). Renames them, in place, in `msg` and its nested messages.
 */
function fixMapEntries(msg: descriptor.IDescriptorProto): void {
  for (const nested of msg.nestedType ?? []) {
    fixMapEntries(nested);
    if (!nested.options?.mapEntry || !nested.name) continue;
    const field = msg.field?.find((f) => f.typeName === nested.name || f.typeName?.endsWith(`.${nested.name}`));
    if (!field?.name || !field.typeName) continue;
    const name = mapEntryName(field.name);
    field.typeName = `${field.typeName.slice(0, -nested.name.length)}${name}`;
    nested.name = name;
  }
}

/**
 * The definition reflection describes: the service's .proto and health.proto, with field names as
 * written (snake_case: the loader's camelCase is for ferry's own code) and map entries named as
 * protoc names them. Only `fileDescriptorProtos` is read by @grpc/reflection.
 */
function reflectedDefinition(kinds: ServiceKind[]): ReflectedDefinition {
  const pkg = protoLoader.loadSync(kinds.map(protoFileOf), { keepCase: true, includeDirs: [PROTO_ROOT] });
  const fixed = new Map<Buffer, Uint8Array>();
  const fix = (bin: Buffer) => {
    let out = fixed.get(bin);
    if (!out) {
      const file = descriptor.FileDescriptorProto.decode(bin) as descriptor.IFileDescriptorProto;
      for (const m of file.messageType ?? []) fixMapEntries(m);
      fixed.set(bin, (out = descriptor.FileDescriptorProto.encode(file).finish()));
    }
    return out;
  };
  const reflected: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(pkg)) {
    // a service's entry is keyed by method names; its file is also every message's
    const files = (def as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
    if (Array.isArray(files)) reflected[name] = { ...def, fileDescriptorProtos: files.map(fix) };
  }
  return reflected as ReflectedDefinition;
}

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, what grpcurl and Postman ask) of the
 * `kind` service and grpc.health.v1.Health, described from their .proto files. Like health it needs
 * no token: it tells what the public proto/ says, and no call goes through it.
 */
export function addReflection(server: Pick<grpc.Server, 'addService'>, kind: Exclude<ServiceKind, 'health'>, services: string[]): void {
  new ReflectionService(reflectedDefinition([kind, 'health']), { services }).addToServer(server);
}
