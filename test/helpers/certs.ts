import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files of a throwaway PKI, for TLS tests of ferry's gRPC servers. */
export interface TestCertificates {
  /** the CA that signed server and client */
  ca: string;
  /** certificate for IP 127.0.0.1 (subjectAltName), serverAuth, and its key */
  serverCert: string;
  serverKey: string;
  /** certificate with clientAuth, signed by `ca`, and its key */
  clientCert: string;
  clientKey: string;
  /** a second, unrelated CA, and a client certificate it signed: neither is trusted by the other side */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
}

// one config for every certificate: the extensions of each kind are sections picked with -extensions
const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
`;

/** Makes the certificates with the openssl CLI in `dir` (EC P-256 keys, valid for 1 day). */
export function makeTestCertificates(dir: string): TestCertificates {
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, CONFIG);
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string, cn: string) => openssl('req', '-x509', '-config', cnf, '-extensions', 'ca', ...newKey, '-keyout', p(`${name}.key`), '-out', p(`${name}.crt`), '-days', '1', '-subj', `/CN=${cn}`);
  let serial = 1;
  const leaf = (name: string, cn: string, kind: 'server' | 'client', signer: string) => {
    openssl('req', '-new', '-config', cnf, ...newKey, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${signer}.crt`), '-CAkey', p(`${signer}.key`), '-set_serial', String(serial++), '-days', '1', '-extfile', cnf, '-extensions', kind, '-out', p(`${name}.crt`));
  };
  ca('ca', 'ferry test CA');
  ca('other-ca', 'untrusted test CA');
  leaf('server', '127.0.0.1', 'server', 'ca');
  leaf('client', 'ferry test client', 'client', 'ca');
  leaf('other-client', 'untrusted test client', 'client', 'other-ca');
  return {
    ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key'),
    otherCa: p('other-ca.crt'), otherClientCert: p('other-client.crt'), otherClientKey: p('other-client.key'),
  };
}
