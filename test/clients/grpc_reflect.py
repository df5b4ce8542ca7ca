#!/usr/bin/python3
"""A gRPC client that is not ferry's: discovers a server's API through server reflection, as
grpcurl does (`grpcurl list`, `grpcurl describe`, `grpcurl -d JSON ... Service/Method`), with
nothing but Debian's python3-grpcio and python3-protobuf. It knows no ferry .proto: the reflection
messages come from gRPC's own reflection.proto (compiled by protoc into REFLECTION_SET), every
other type from what the server sends.

usage: grpc_reflect.py ADDRESS REFLECTION_SET [--token TOKEN] [--call SERVICE/METHOD JSON]
prints one JSON object: services, their methods, and the call's answer (or its status).
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

REFLECTION = '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'


def message_classes(pool, names):
    factory = message_factory.MessageFactory(pool)
    return [factory.GetPrototype(pool.FindMessageTypeByName(n)) for n in names]


def in_pool(pool, name):
    try:
        pool.FindFileByName(name)
        return True
    except KeyError:
        return False


def add_files(pool, serialized):
    """Adds FileDescriptorProtos in any order: a file goes in once its dependencies are there."""
    pending = {}
    for raw in serialized:
        f = descriptor_pb2.FileDescriptorProto.FromString(raw)
        if not in_pool(pool, f.name):
            pending[f.name] = f
    while pending:
        ready = [f for f in pending.values() if all(in_pool(pool, d) for d in f.dependency)]
        if not ready:
            raise SystemExit('unresolvable dependencies: %s' % sorted(pending))
        for f in ready:
            pool.Add(f)
            del pending[f.name]


def main(argv):
    address, reflection_set = argv[1], argv[2]
    token = argv[argv.index('--token') + 1] if '--token' in argv else None
    call = argv[argv.index('--call') + 1:argv.index('--call') + 3] if '--call' in argv else None

    rpool = descriptor_pool.DescriptorPool()
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(reflection_set, 'rb').read())
    add_files(rpool, [f.SerializeToString() for f in fds.file])
    Request, Response = message_classes(rpool, ['grpc.reflection.v1alpha.ServerReflectionRequest', 'grpc.reflection.v1alpha.ServerReflectionResponse'])

    channel = grpc.insecure_channel(address)
    info = channel.stream_stream(REFLECTION, request_serializer=lambda m: m.SerializeToString(), response_deserializer=Response.FromString)

    def ask(**kw):
        (answer,) = list(info(iter([Request(**kw)]), timeout=10))
        if answer.HasField('error_response'):
            raise SystemExit('reflection error %d: %s' % (answer.error_response.error_code, answer.error_response.error_message))
        return answer

    services = [s.name for s in ask(list_services='*').list_services_response.service]
    pool = descriptor_pool.DescriptorPool()
    out = {'services': services, 'methods': {}}
    for name in services:
        if name.startswith('grpc.reflection.'):
            continue
        files = ask(file_containing_symbol=name).file_descriptor_response.file_descriptor_proto
        add_files(pool, files)
        svc = pool.FindServiceByName(name)
        methods = []
        for m in svc.methods:
            proto = descriptor_pb2.MethodDescriptorProto()
            m.CopyToProto(proto)
            methods.append({'name': m.name, 'input': m.input_type.full_name, 'output': m.output_type.full_name,
                            'client_streaming': proto.client_streaming, 'server_streaming': proto.server_streaming})
        out['methods'][name] = methods

    if call:
        path, body = call
        service, method = path.split('/')
        m = pool.FindServiceByName(service).methods_by_name[method]
        Req, Res = message_classes(pool, [m.input_type.full_name, m.output_type.full_name])
        request = json_format.Parse(body, Req())
        unary = channel.unary_unary('/%s/%s' % (service, method), request_serializer=lambda r: r.SerializeToString(), response_deserializer=Res.FromString)
        metadata = [('authorization', 'Bearer ' + token)] if token else None
        try:
            out['call'] = {'ok': json_format.MessageToDict(unary(request, metadata=metadata, timeout=10), preserving_proto_field_name=True)}
        except grpc.RpcError as e:
            out['call'] = {'status': e.code().name, 'details': e.details()}
    channel.close()
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv)
