import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sendFlagsOf, unhonoured } from '../../machines/send-options.js';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../util/logger.js';
import { createFileLogSource } from '../archiver/log-source/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { openEndpoint, parseEndpoint } from '../storage/endpoint.js';
import { addStandardServices, bindServer, newServer, serverKit } from '../grpc/server-kit.js';
import { writeHeadered } from '../grpc/chunk-stream.js';
import { logSourceHandlers } from './log-source-handlers.js';
import { serviceDefinition, type EndpointHandlers } from '../grpc/proto.js';
import { invalidField, permissionDenied } from '../grpc/status.js';
import { versionFromMsg, versionToMsg } from '../storage/remote/version-message.js';
import type { Version } from '../storage/driver.js';
import type { Version__Output } from '../grpc/generated/ferry/v1/Version.js';
import { receiveHandler } from './receive-handler.js';
import { filesystemField, snapshotField, textField, textList } from './request-fields.js';

export interface AgentOptions {
  /** local endpoints served, as a person writes them ("dir:/srv/a"); nothing else is reachable */
  endpoints: string[];
  /** root of a file log source served to remote archivers (docs/wal-log-source.md); none when absent */
  logRoot?: string;
  /** the shared token every call but health must carry as `authorization: Bearer <token>` */
  token: string;
  host: string;
  /** 0 picks a free port */
  port: number;
  /** default: insecure (plaintext); see serverCredentials in tls.ts for TLS and mutual TLS */
  credentials?: grpc.ServerCredentials;
  log?: Logger;
  /** defaults to openEndpoint (tests inject drivers) */
  open?: (endpoint: string) => StorageDriver;
  /** Receive: how long to wait for the client's next message before the receive is aborted; default RECEIVE_IDLE_MS (receive-handler.ts) */
  receiveIdleMs?: number;
}

export interface Agent {
  /** host:port actually bound */
  address: string;
  port: number;
  /** the served endpoints, normalized */
  endpoints: string[];
  /** the served log source root, absolute; null when none */
  logRoot: string | null;
  /** stops taking calls, lets running ones finish for up to graceMs, then cancels them */
  close(graceMs?: number): Promise<void>;
}

/** Most filesystems one Snapshot call may name. */
const MAX_SNAPSHOT_FILESYSTEMS = 10_000;

/** A zfs resume token as `zfs get receive_resume_token` prints it: hex digits and '-'. */
const RESUME_TOKEN = /^[0-9A-Za-z-]*$/;

/** A Version of a request: the message's own checks, a snapshot name of the driver's kind, a bounded guid. */
function versionField(kind: StorageDriver['kind'], m: Version__Output | null | undefined, field: string): Version {
  const v = versionFromMsg(m, field);
  snapshotField(kind, v.name, `${field}.name`);
  textField(v.guid, `${field}.guid`, { max: 200 });
  if (v.creation !== undefined) textField(v.creation, `${field}.creation`, { max: 100 });
  return v;
}

/** A driver's bad-name error with its message starting with the request field that carried the name (by the error's `details.kind`). */
function namingField(err: unknown, fields: Record<string, string>): unknown {
  if (!(err instanceof InvalidArgumentError)) return err;
  const kind = err.details.kind;
  const field = typeof kind === 'string' ? fields[kind] : undefined;
  if (!field) return err;
  return new InvalidArgumentError(`${field}: ${err.message}`, { code: err.code, cause: err, details: { ...err.details, field } });
}

/** The gRPC Endpoint service over local drivers, plus grpc.health.v1.Health/Check. */
export async function startAgent(o: AgentOptions): Promise<Agent> {
  const open = o.open ?? openEndpoint;
  const drivers = new Map<string, StorageDriver>();
  for (const e of o.endpoints) {
    const p = parseEndpoint(e);
    if (p.remote) throw new InvalidArgumentError(`--allow ${JSON.stringify(e)}: an agent serves local endpoints only, not grpc:// ones`, { code: 'INVALID_ENDPOINT' });
    const key = `${p.kind}:${p.location}`;
    if (!drivers.has(key)) drivers.set(key, open(key));
  }
  const logSource = o.logRoot === undefined ? null : createFileLogSource(await existingDirectory(o.logRoot, '--log-root'));
  if (!drivers.size && !logSource) {
    throw new InvalidArgumentError('nothing to serve: give the local endpoints with --allow (e.g. --allow dir:/srv/a) and/or a log source with --log-root PATH', { code: 'INVALID_ARGUMENT' });
  }
  if (!o.token) throw new InvalidArgumentError('--token-file is required', { code: 'INVALID_ARGUMENT' });
  const served = [...drivers.keys()];

  const kit = serverKit({ token: o.token, log: o.log, server: 'agent' });
  const { unary } = kit;
  const driverFor = (value: unknown, field: string): StorageDriver => {
    const text = textField(value, field);
    let key: string;
    try {
      const p = parseEndpoint(text);
      if (p.remote) throw new InvalidArgumentError('an agent serves local endpoints only', { code: 'INVALID_ENDPOINT' });
      key = `${p.kind}:${p.location}`;
    } catch (err) {
      throw invalidField(field, (err as Error).message);
    }
    const d = drivers.get(key);
    if (!d) throw permissionDenied(`endpoint ${JSON.stringify(text)} is not served by this agent (it serves ${served.join(', ') || 'no endpoint'})`);
    return d;
  };

  const impl: EndpointHandlers = {
    ListFilesystems: unary('ListFilesystems', async (req) => {
      const d = driverFor(req.endpoint, 'endpoint');
      return { filesystems: await d.listFilesystems() };
    }),
    ListVersions: unary('ListVersions', async (req) => {
      const d = driverFor(req.endpoint, 'endpoint');
      const fs = filesystemField(d.kind, req.filesystem, 'filesystem', { allowRoot: true });
      return { versions: (await d.listVersions(fs)).map(versionToMsg) };
    }),
    Snapshot: unary('Snapshot', async (req) => {
      const d = driverFor(req.endpoint, 'endpoint');
      const filesystems = textList(req.filesystems, 'filesystems', { max: MAX_SNAPSHOT_FILESYSTEMS }).map((fs, i) => filesystemField(d.kind, fs, `filesystems[${i}]`, { allowRoot: true }));
      if (!filesystems.length) throw invalidField('filesystems', 'at least one filesystem is required');
      const name = snapshotField(d.kind, req.name, 'name');
      return { versions: (await d.snapshot(filesystems, name)).map(versionToMsg) };
    }),
    DestroySnapshot: unary('DestroySnapshot', async (req) => {
      const d = driverFor(req.endpoint, 'endpoint');
      const fs = filesystemField(d.kind, req.filesystem, 'filesystem');
      const name = snapshotField(d.kind, req.name, 'name');
      await d.destroySnapshot(fs, name).catch((err: unknown) => {
        throw namingField(err, { filesystem: 'filesystem', snapshot: 'name' });
      });
      return {};
    }),

    Send: kit.serverStream('Send', async (req, write, signal) => {
      const d = driverFor(req.endpoint, 'endpoint');
      const fs = filesystemField(d.kind, req.filesystem, 'filesystem', { allowRoot: true });
      const to = versionField(d.kind, req.to, 'to');
      const from = req.from ? versionField(d.kind, req.from, 'from') : null;
      const resumeToken = textField(req.resumeToken, 'resume_token', { optional: true, max: 16_384 }) || undefined;
      if (resumeToken && !RESUME_TOKEN.test(resumeToken)) throw invalidField('resume_token', 'is not a zfs resume token (letters, digits and \'-\')');
      const flags = sendFlagsOf(req);
      const set = Object.keys(flags).filter((k) => flags[k as keyof typeof flags]);
      const refused = unhonoured(d.kind, set);
      if (refused) throw invalidField(refused, `a zfs send option: a ${d.kind} endpoint cannot honour it`);
      // streamProtocol: the receiver's newest btrfs stream protocol (its DescribeReceiver); 0 is unset
      const { stream, sizeEstimate } = await d.send(fs, from, to, { signal, intermediates: !!req.intermediates, resumeToken, ...(set.length ? { flags } : {}), streamProtocol: req.streamProtocol || undefined });
      await writeHeadered(stream, { sizeEstimate: sizeEstimate === undefined ? null : { bytes: sizeEstimate } }, write, signal);
    }),

    ResumeToken: unary('ResumeToken', async (req) => {
      const d = driverFor(req.endpoint, 'endpoint');
      const fs = filesystemField(d.kind, req.filesystem, 'filesystem', { allowRoot: true });
      return { token: (await d.resumeToken?.(fs)) ?? '' };
    }),

    Receive: receiveHandler({ kit, driverFor, idleMs: o.receiveIdleMs }),

    DescribeReceiver: unary('DescribeReceiver', async (req) => {
      const d = driverFor(req.endpoint, 'endpoint');
      // only btrfs drivers have receiveProtocol
      return { btrfsStreamProtocol: d.receiveProtocol ? await d.receiveProtocol() : 0 };
    }),

    ...logSourceHandlers(logSource, kit),
  };

  const server = newServer();
  server.addService(serviceDefinition('endpoint'), impl);
  addStandardServices(server, 'endpoint');
  const bound = await bindServer(server, { host: o.host, port: o.port, credentials: o.credentials, flag: '--listen' });
  return { ...bound, endpoints: served, logRoot: logSource?.root ?? null };
}

async function existingDirectory(path: string, option: string): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`${option} ${JSON.stringify(path)}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`, { code: 'INVALID_ARGUMENT', cause: err });
  });
  if (!st.isDirectory()) throw new InvalidArgumentError(`${option} ${JSON.stringify(path)}: not a directory`, { code: 'INVALID_ARGUMENT' });
  return abs;
}
