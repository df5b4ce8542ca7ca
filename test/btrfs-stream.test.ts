// The btrfs send stream framing the receiver follows (src/storage/btrfs/stream.ts), on streams
// built here byte by byte: one snapshot or a batch of several back to back, fed in every way a
// pipe or a gRPC stream may cut them; and the protocol the local fast path sends with. Pure: no
// btrfs needed; test/btrfs.test.ts feeds real streams.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, PermanentError } from '../src/errors/index.js';
import { chooseProtocol, formatArgs, formatFor, NEWEST_CHECKED } from '../src/storage/btrfs/protocol.js';
import { CMD_END, CMD_SNAPSHOT, CMD_SUBVOL, STREAM_MAGIC, StreamFraming } from '../src/storage/btrfs/stream.js';

const WRITE = 15; // any command that is not a snapshot's first nor END
const ATTR = { uuid: 1, ctransid: 2, path: 15, cloneUuid: 20 };

function attr(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(type, 0);
  head.writeUInt16LE(data.length, 2);
  return Buffer.concat([head, data]);
}

function command(cmd: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt16LE(cmd, 4);
  return Buffer.concat([head, payload]);
}

const uuidBytes = (n: number) => Buffer.alloc(16, n);
const uuidText = (n: number) => {
  const h = uuidBytes(n).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** One snapshot's stream: header, SUBVOL or SNAPSHOT (on `parent`), `writes` commands of data, END. */
function snapshotStream(name: string, id: number, parent: number | null, writes: number[]): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(1, 0);
  const ctransid = Buffer.alloc(8);
  ctransid.writeBigUInt64LE(BigInt(id));
  const first = command(parent === null ? CMD_SUBVOL : CMD_SNAPSHOT, Buffer.concat([
    attr(ATTR.path, Buffer.from(name)), attr(ATTR.uuid, uuidBytes(id)), attr(ATTR.ctransid, ctransid),
    ...(parent === null ? [] : [attr(ATTR.cloneUuid, uuidBytes(parent))]),
  ]));
  return Buffer.concat([STREAM_MAGIC, header, first, ...writes.map((n) => command(WRITE, Buffer.alloc(n, id))), command(CMD_END)]);
}

/** `buf` cut at `points` (sorted, inside it) */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(at, p));
    at = p;
  }
  return out.filter((c) => c.length > 0);
}

/** a small deterministic generator, so that a failure names cuts that can be made again */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function feedAll(chunks: Buffer[]): StreamFraming {
  const f = new StreamFraming();
  for (const c of chunks) f.feed(c);
  return f;
}

const parts = [snapshotStream('s2', 2, 1, [5, 70_000, 3]), snapshotStream('s3', 3, 2, []), snapshotStream('s4', 4, 3, [1])];
const batch = Buffer.concat(parts);
const offsets = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.length, 0));

describe('btrfs send stream framing', () => {
  it('follows a batch of snapshots back to back, however the stream is cut into chunks: each start, where it begins, complete at the end', () => {
    const random = rng(18);
    const cuts: number[][] = [
      [],
      Array.from({ length: batch.length - 1 }, (_, i) => i + 1), // a byte at a time
      offsets.slice(1), // at each snapshot's first byte
      offsets.slice(1).map((o) => o - 1), // one byte before
      offsets.slice(1).map((o) => o + 5), // inside the next header
      offsets.slice(1).map((o) => o + STREAM_MAGIC.length + 4 + 3), // inside the next first command's header
    ];
    for (let i = 0; i < 200; i++) cuts.push(Array.from({ length: 1 + Math.floor(random() * 12) }, () => 1 + Math.floor(random() * (batch.length - 1))).sort((a, b) => a - b));
    for (const points of cuts) {
      const f = feedAll(cut(batch, [...new Set(points)]));
      const where = `cut at ${points.length > 20 ? `${points.length} points` : JSON.stringify(points)}`;
      assert.deepEqual(f.starts.map((s) => [s.name, s.uuid, s.parentUuid, s.kind]), [
        ['s2', uuidText(2), uuidText(1), 'incremental'], ['s3', uuidText(3), uuidText(2), 'incremental'], ['s4', uuidText(4), uuidText(3), 'incremental'],
      ], where);
      assert.deepEqual(f.starts.map((s) => s.offset), offsets, where);
      assert.equal(f.complete, true, where);
    }
  });

  it('is complete only right after an END: never inside a snapshot, a header or a command', () => {
    const small = [snapshotStream('s2', 2, 1, [5, 3]), snapshotStream('s3', 3, 2, []), snapshotStream('s4', 4, 3, [1])];
    const whole = Buffer.concat(small);
    const ends = new Set(small.map((_, i) => small.slice(0, i + 1).reduce((n, p) => n + p.length, 0)));
    for (let n = 1; n <= whole.length; n++) {
      const f = feedAll([whole.subarray(0, n)]);
      assert.equal(f.complete, ends.has(n), `after ${n} of ${whole.length} bytes`);
      if (!ends.has(n)) assert.throws(() => f.assertComplete(), /ended early/);
    }
  });

  it('refuses a second snapshot command before END, and anything but a stream header after END', () => {
    const s2 = parts[0];
    const withoutEnd = s2.subarray(0, s2.length - 10);
    const second = snapshotStream('s3', 3, 2, []).subarray(STREAM_MAGIC.length + 4);
    assert.throws(() => feedAll([Buffer.concat([withoutEnd, second])]), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM' && /second snapshot command before END/.test(e.message));
    assert.throws(() => feedAll([Buffer.concat([s2, command(WRITE, Buffer.alloc(4))])]), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM' && /bad magic/.test(e.message));
    // a later snapshot must start with SUBVOL or SNAPSHOT (whether it may apply is the receiver's to say)
    const noFirst = Buffer.concat([STREAM_MAGIC, Buffer.from([1, 0, 0, 0]), command(WRITE, Buffer.alloc(2)), command(CMD_END)]);
    assert.throws(() => feedAll([s2, noFirst]), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM' && /first command is 15/.test(e.message));
    // a full snapshot later in a stream is framed like any other: the receiver refuses it (test/btrfs.test.ts)
    assert.equal(feedAll([s2, snapshotStream('x', 9, null, [])]).starts[1].kind, 'full');
  });
});

describe('btrfs send protocol of the local fast path', () => {
  it('is the newest the kernel and btrfs-progs share, at most the newest checked; 1 when either is older, or when FERRY_BTRFS_SEND_PROTOCOL=1', () => {
    assert.equal(chooseProtocol('2\n', 'btrfs-progs v6.2', undefined), 2);
    assert.equal(chooseProtocol('3\n', 'btrfs-progs v6.14', undefined), NEWEST_CHECKED, 'a later kernel protocol is not taken on trust');
    assert.equal(chooseProtocol('1\n', 'btrfs-progs v6.2', undefined), 1, 'a kernel before 6.0');
    assert.equal(chooseProtocol(null, 'btrfs-progs v6.2', undefined), 1, 'no sysfs file');
    assert.equal(chooseProtocol('2\n', 'btrfs-progs v5.16.2', undefined), 1, 'btrfs-progs before 6.0 has no --proto');
    assert.equal(chooseProtocol('2\n', '', undefined), 1, 'no version line');
    assert.equal(chooseProtocol('2\n', 'btrfs-progs v6.2', '1'), 1);
    assert.equal(chooseProtocol('2\n', 'btrfs-progs v6.2', '2'), 2);
    assert.equal(chooseProtocol('1\n', 'btrfs-progs v6.2', '2'), 1, 'asking for 2 does not make the kernel send it');
    assert.equal(chooseProtocol('2\n', 'btrfs-progs v6.2', ''), 2);
    assert.throws(() => chooseProtocol('2\n', 'btrfs-progs v6.2', 'v2'), (e: unknown) => e instanceof InvalidArgumentError && /FERRY_BTRFS_SEND_PROTOCOL must be 1 or 2, not "v2"/.test(e.message));
    assert.deepEqual(formatArgs({ protocol: 1, compressed: false }), []);
    assert.deepEqual(formatArgs({ protocol: 2, compressed: false }), ['--proto', '2']);
    assert.deepEqual(formatArgs({ protocol: 2, compressed: true }), ['--proto', '2', '--compressed-data']);
  });

  it('a stream that may leave the host is of protocol 1 unless compressed data is asked for; compressed data without protocol 2 is refused, naming send.compressed', () => {
    assert.deepEqual(formatFor({ local: true, compressed: false }, 2, undefined), { protocol: 2, compressed: false });
    assert.deepEqual(formatFor({ local: false, compressed: false }, 2, undefined), { protocol: 1, compressed: false });
    assert.deepEqual(formatFor({ local: false, compressed: true }, 2, undefined), { protocol: 2, compressed: true });
    assert.deepEqual(formatFor({ local: true, compressed: true }, 2, undefined), { protocol: 2, compressed: true });
    assert.deepEqual(formatFor({ local: true, compressed: false }, 1, undefined), { protocol: 1, compressed: false });
    const refused = (why: RegExp) => (e: unknown) => e instanceof PermanentError && e.code === 'SEND_OPTION_UNSUPPORTED' && (e.details as { field?: string }).field === 'send.compressed' && why.test(e.message);
    assert.throws(() => formatFor({ local: true, compressed: true }, 1, undefined), refused(/^send\.compressed: .*needs Linux 6\.0 and btrfs-progs 6\.0/));
    assert.throws(() => formatFor({ local: false, compressed: true }, 1, '1'), refused(/FERRY_BTRFS_SEND_PROTOCOL=1 is set/));
  });

  it('a stream that leaves the host is of the newest protocol both ends have when the receiver said which it reads; compressed data only to a receiver of 2', () => {
    assert.deepEqual(formatFor({ local: false, compressed: false, receiver: 2 }, 2, undefined), { protocol: 2, compressed: false });
    assert.deepEqual(formatFor({ local: false, compressed: false, receiver: 3 }, 2, undefined), { protocol: 2, compressed: false }, 'never newer than this host');
    assert.deepEqual(formatFor({ local: false, compressed: false, receiver: 2 }, 1, '1'), { protocol: 1, compressed: false }, 'nor than FERRY_BTRFS_SEND_PROTOCOL');
    assert.deepEqual(formatFor({ local: false, compressed: false, receiver: 1 }, 2, undefined), { protocol: 1, compressed: false });
    assert.deepEqual(formatFor({ local: false, compressed: false, receiver: 0 }, 2, undefined), { protocol: 1, compressed: false }, 'unknown: 1');
    assert.deepEqual(formatFor({ local: false, compressed: true, receiver: 2 }, 2, undefined), { protocol: 2, compressed: true });
    const refused = (e: unknown) => e instanceof PermanentError && e.code === 'SEND_OPTION_UNSUPPORTED' && (e.details as { field?: string }).field === 'send.compressed' &&
      /^send\.compressed: the receiver's btrfs cannot read compressed data .*it reads protocol 1.*upgrade the receiver$/.test(e.message);
    assert.throws(() => formatFor({ local: false, compressed: true, receiver: 1 }, 2, undefined), refused);
  });
});
