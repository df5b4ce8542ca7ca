import { createReadStream, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { entryKey } from '../src/archiver/contracts.js';
import { entrySha256, sha256Stream } from '../src/archiver/entry-tar.js';
import { appendEntry, commit, lsnName, type EntryContent } from '../src/archiver/log-source/index.js';
import type { Figures } from './figures.js';
import { sleep } from './processes.js';
import type { Rng } from './random.js';

const STORAGE = 'chaos';

/**
 * Archiver partitions in flight during a chaos scenario: a file log source that this process feeds
 * (entries appended and committed in small batches into a few partitions, as a storage node would)
 * and a `file://` sink that ferry archives it into (`archives:` of a `serve --config` file). The
 * sha256 of each entry's tarball is taken between append and commit (an entry can only be pruned
 * once committed and archived), so the sink can be checked after the entries are gone.
 */
export class ArchiveFeed {
  readonly root: string;
  readonly sinkDir: string;
  /** sink key -> sha256 of the entry's deterministic tarball */
  readonly expected = new Map<string, string>();
  private readonly next = new Map<string, number>();
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(dir: string, private readonly rng: Rng, readonly partitions = 3) {
    this.root = join(dir, 'wal');
    this.sinkDir = join(dir, 'sink');
    for (let i = 0; i < partitions; i++) this.next.set(`p${i}`, 1);
  }

  get sinkUrl(): string {
    return `file://${this.sinkDir}`;
  }

  /** a config file for `ferry serve --config`: this log source archived into the sink, rescanned every second */
  writeConfig(path: string): string {
    writeFileSync(path, [
      'archives:',
      '  chaos:',
      `    log: ${JSON.stringify(this.root)}`,
      `    sink: ${JSON.stringify(this.sinkUrl)}`,
      '    interval: 1s',
      '    retry: { initial: 200ms, max: 2s }',
      '',
    ].join('\n'));
    return path;
  }

  /** Appends and commits one batch of 1-4 entries (files or small directories) to a random partition. */
  async feedOnce(): Promise<void> {
    const partition = this.rng.pick([...this.next.keys()]);
    const first = this.next.get(partition)!;
    const count = this.rng.int(1, 4);
    for (let lsn = first; lsn < first + count; lsn++) {
      await appendEntry(this.root, STORAGE, partition, lsn, this.content());
      const path = join(this.root, STORAGE, partition, 'entries', lsnName(lsn));
      this.expected.set(entryKey({ storage: STORAGE, partition }, lsn), (await entrySha256(path)).sha256);
    }
    await commit(this.root, STORAGE, partition, first + count - 1);
    this.next.set(partition, first + count);
  }

  private content(): EntryContent {
    const bytes = () => this.rng.bytes(this.rng.int(0, 64 * 1024));
    if (this.rng.chance(0.6)) return bytes();
    const dir: Record<string, Buffer> = {};
    for (let i = this.rng.int(1, 4); i > 0; i--) dir[`${this.rng.string(6, 'abcdef')}/${this.rng.string(8)}`] = bytes();
    return dir;
  }

  /** Feeds a batch every 50-400 ms until `stop()`. */
  start(): void {
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        await this.feedOnce();
        await sleep(this.rng.int(50, 400));
      }
    })();
    // a failure is rethrown by stop(), not left unhandled meanwhile
    this.running.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = null;
  }

  /** keys of committed entries whose object is not in the sink yet */
  async missing(): Promise<string[]> {
    const out: string[] = [];
    for (const key of this.expected.keys()) if ((await this.objectSha(key)) === null) out.push(key);
    return out;
  }

  /** Waits until every committed entry is in the sink, or `timeoutMs` passed; the keys still missing. */
  async settle(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = await this.missing();
      if (!missing.length || Date.now() > deadline) return missing;
      await sleep(500);
    }
  }

  /**
   * Checks every archived object against its entry: the sha256 of the object's bytes, and the
   * sink's checksum file when there is one, must both be the entry's. Counts verified, wrong and missing objects.
   */
  async verify(figures: Figures, what: string): Promise<void> {
    const missing = new Map<string, number[]>();
    for (const [key, want] of this.expected) {
      const got = await this.objectSha(key);
      if (got === null) {
        const [, partition, name] = key.split('/');
        missing.set(partition, [...(missing.get(partition) ?? []), Number(name.replace(/\.tar$/, ''))]);
        continue;
      }
      figures.add('archiveObjectsVerified');
      const side = await this.sideSha(key);
      if (got !== want || (side !== null && side !== want)) {
        figures.add('archiveObjectsWrong', 1, `${what}: ${key}: entry sha256 ${want}, object ${got}, checksum file ${side ?? 'missing'}`);
      }
    }
    // one piece of evidence per partition: its missing LSNs, its position and what the log still holds
    for (const [partition, lsns] of missing) {
      const dir = join(this.root, STORAGE, partition);
      const positions = await readdir(join(dir, 'positions')).catch(() => []);
      const held = await Promise.all(positions.map(async (c) => `${c}=${(await readFile(join(dir, 'positions', c), 'utf8').catch(() => '?')).trim()}`));
      const entries = (await readdir(join(dir, 'entries')).catch(() => [])).length;
      figures.add('archiveObjectsMissing', lsns.length, `${what}: ${STORAGE}/${partition}: ${lsns.length} committed entries not in the sink (LSN ${lsns[0]} to ${lsns.at(-1)}); positions ${held.join(', ') || 'none'}; ${entries} entries in the log`);
    }
  }

  private async objectSha(key: string): Promise<string | null> {
    try {
      return (await sha256Stream(createReadStream(join(this.sinkDir, key)))).sha256;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async sideSha(key: string): Promise<string | null> {
    try {
      return (await readFile(join(this.sinkDir, `${key}.sha256`), 'utf8')).split(/\s/)[0];
    } catch {
      return null; // not written yet (a crash between the link and it): the sink's head writes it from the bytes
    }
  }
}
