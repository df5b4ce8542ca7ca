import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../replication/report.js';
import { createDirDriver } from '../../storage/dir/index.js';
import type { App } from '../app.js';
import { formatReport } from '../format.js';
import { snapshotName } from '../../storage/snapshots.js';
import { replicateAndWait } from './replicate.js';
import { changeSampleData, writeSampleData } from './demo-data.js';

/**
 * The demo: a temporary sender and receiver (dir driver) with sample filesystems; a full
 * replication, changes, new snapshots, an incremental replication. Every run goes through
 * the real engine (Redis, BullMQ, XState machines).
 */
export async function demo(app: App, o: { json: boolean; keep: boolean }): Promise<{ full: Report; incremental: Report }> {
  const base = mkdtempSync(join(tmpdir(), 'ferry-demo-'));
  const senderRoot = join(base, 'sender');
  const receiverRoot = join(base, 'receiver');
  const say = (s: string) => process.stderr.write(`${s}\n`);
  try {
    const sender = createDirDriver(senderRoot);
    const names = writeSampleData(senderRoot);
    say(`ferry demo: sender dir:${senderRoot} with filesystems ${names.join(', ')}; receiver dir:${receiverRoot}`);
    const first = await sender.snapshot(names, snapshotName('demo', new Date(Date.now() - 1000)));
    say(`ferry demo: took snapshot ${first[0].name} of ${names.length} filesystems`);
    const full = await replicateAndWait(app, { sender: `dir:${senderRoot}`, receiver: `dir:${receiverRoot}`, concurrency: 2 }, { progress: !o.json, label: 'full replication' });
    if (!o.json) process.stdout.write(`${formatReport(full)}\n\n`);
    changeSampleData(senderRoot);
    const second = await sender.snapshot(names, snapshotName('demo', new Date()));
    say(`ferry demo: changed data (edit, add, delete, rename, chmod) and took snapshot ${second[0].name}`);
    const incremental = await replicateAndWait(app, { sender: `dir:${senderRoot}`, receiver: `dir:${receiverRoot}`, concurrency: 2 }, { progress: !o.json, label: 'incremental replication' });
    if (!o.json) process.stdout.write(`${formatReport(incremental)}\n`);
    return { full, incremental };
  } finally {
    if (o.keep) say(`ferry demo: kept ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}
