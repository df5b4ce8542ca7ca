// One process contending for a dir-driver lock (test/dir-lock.test.ts):
//   node --import tsx test/helpers/lock-contender.ts <lock dir> <journal> <id> <rounds> <lease ms> [die]
// Each round takes the lock (waiting while busy), appends "begin <id>" and "end <id>" to the
// journal around a short hold, and releases it. With `die`, it appends "begin <id> dies" in its
// first round and kills itself holding the lock, which the others must then take over.
import { appendFileSync } from 'node:fs';
import { TemporaryError } from '../../src/errors/index.js';
import { acquireLease } from '../../src/storage/dir/lock.js';

const [dir, journal, id, rounds, leaseMs, die] = process.argv.slice(2);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (let round = 0; round < Number(rounds); round++) {
  let lease;
  for (;;) {
    try {
      lease = await acquireLease(dir, 'contended lock', { leaseMs: Number(leaseMs) });
      break;
    } catch (err) {
      if (!(err instanceof TemporaryError)) throw err;
      await pause(Math.random() * 10);
    }
  }
  if (die === 'die') {
    appendFileSync(journal, `begin ${id} dies\n`);
    process.kill(process.pid, 'SIGKILL');
  }
  appendFileSync(journal, `begin ${id}\n`);
  await pause(Math.random() * 5);
  await lease.assertHeld();
  appendFileSync(journal, `end ${id}\n`);
  await lease.release();
}
