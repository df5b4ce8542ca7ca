/**
 * An agent as health records name it: `host:port`, or `grpcs://host:port` for one reached over TLS
 * (it is probed over TLS). Pure, and apart from the gRPC stack: the health records of local runs use it too.
 */
export function agentTarget(address: string, tls: boolean): string {
  return tls ? `grpcs://${address}` : address;
}
