// One dir receive in a process of its own, for tests that kill it (test/dir-crash.test.ts):
//   node <the bundled child> <root> <fs> <stream file> <lock lease ms>  (bundled by the test; or through tsx)
// Everything is loaded before the receive starts, so the receive's own syscalls come last.
import { createReadStream } from 'node:fs';
import { createDirDriver } from '../../src/storage/dir/index.js';

const [root, fs, streamFile, leaseMs] = process.argv.slice(2);
const driver = createDirDriver(root, { lockLeaseMs: Number(leaseMs) });
const version = await driver.receive(fs, createReadStream(streamFile));
process.stdout.write(`${JSON.stringify(version)}\n`);
