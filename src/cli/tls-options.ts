import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';

/** The TLS flags as commander parses them (camelCase of --tls-cert, --tls-key, --tls-client-ca). */
export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

/**
 * Adds --tls-cert, --tls-key and --tls-client-ca to a command that serves gRPC (`ferry agent`,
 * `ferry serve`), so every ferry server takes the same flags; read them back with serverTls.
 */
export function addTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls-cert <file>', 'serve TLS with this PEM certificate (chain); needs --tls-key; clients then use grpcs://')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (unencrypted)')
    .option('--tls-client-ca <file>', 'mutual TLS: require a client certificate signed by this PEM CA (bundle)');
}

/** The parsed flags as the server's credentials (files read and checked now) and the scheme of its URLs. */
export async function serverTls(o: TlsFlags): Promise<{ credentials: grpc.ServerCredentials; scheme: 'grpc' | 'grpcs' }> {
  const { serverCredentials, serverTlsEnabled } = await import('../grpc/tls.js');
  const tls = { certFile: o.tlsCert, keyFile: o.tlsKey, clientCaFile: o.tlsClientCa };
  return { credentials: serverCredentials(tls), scheme: serverTlsEnabled(tls) ? 'grpcs' : 'grpc' };
}

/**
 * The PEM files of --tls-cert/--tls-key (and --tls-client-ca, which makes clients show a
 * certificate it signed) for the live view's https server; null without TLS. Read after serverTls checked them.
 */
export function uiTlsFiles(o: TlsFlags): { cert: Buffer; key: Buffer; ca?: Buffer } | null {
  if (!o.tlsCert || !o.tlsKey) return null;
  return { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey), ...(o.tlsClientCa ? { ca: readFileSync(o.tlsClientCa) } : {}) };
}
