import { PermanentError, TemporaryError } from '../../errors/index.js';

/**
 * Just enough of the btrfs send stream format to check a stream before and while `btrfs receive`
 * applies it (btrfs-progs common/send-stream.h, kernel fs/btrfs/send.h):
 *
 *   "btrfs-stream\0"  u32 version (1..3)
 *   commands: u32 payload length, u16 command, u32 crc32c, payload (TLV attributes: u16 type, u16 length, data)
 *
 * The first command is SUBVOL (full) or SNAPSHOT (incremental) and names the snapshot, its UUID and,
 * for SNAPSHOT, the parent's UUID; the last is END. A batch is several such streams back to back.
 * All little-endian.
 */
export const STREAM_MAGIC = Buffer.from('btrfs-stream\0', 'latin1');
export const STREAM_HEADER_BYTES = STREAM_MAGIC.length + 4;
export const CMD_HEADER_BYTES = 10;
export const CMD_SUBVOL = 1;
export const CMD_SNAPSHOT = 2;
export const CMD_END = 21;
const ATTR_UUID = 1;
const ATTR_CTRANSID = 2;
const ATTR_PATH = 15;
const ATTR_CLONE_UUID = 20;
const MAX_VERSION = 3;
/** a first command bigger than this is not a SUBVOL/SNAPSHOT command */
const MAX_FIRST_COMMAND = 64 * 1024;

export interface StreamStart {
  version: number;
  kind: 'full' | 'incremental';
  /** the name `btrfs receive` gives the new subvolume */
  name: string;
  /** the sent snapshot's (received) UUID: the Received UUID the new subvolume will carry */
  uuid: string;
  ctransid: number | null;
  /** incremental: the (received) UUID of the parent the receiver must have */
  parentUuid: string | null;
  /** bytes of the stream header plus the first command */
  length: number;
}

export const corrupt = (why: string): PermanentError => new PermanentError(`corrupt btrfs send stream: ${why}`, { code: 'CORRUPT_STREAM' });

function formatUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Pure: the stream header and first command from the start of a stream, or null when `buf` does not
 * hold all of them yet. Throws CORRUPT_STREAM when they are not what `btrfs send` of one snapshot writes.
 */
export function parseStreamStart(buf: Buffer): StreamStart | null {
  if (buf.length < STREAM_HEADER_BYTES) {
    if (!STREAM_MAGIC.subarray(0, buf.length).equals(buf.subarray(0, STREAM_MAGIC.length))) throw corrupt('bad magic');
    return null;
  }
  if (!buf.subarray(0, STREAM_MAGIC.length).equals(STREAM_MAGIC)) throw corrupt('bad magic');
  const version = buf.readUInt32LE(STREAM_MAGIC.length);
  if (version < 1 || version > MAX_VERSION) throw corrupt(`unsupported stream version ${version}`);
  if (buf.length < STREAM_HEADER_BYTES + CMD_HEADER_BYTES) return null;
  const len = buf.readUInt32LE(STREAM_HEADER_BYTES);
  const cmd = buf.readUInt16LE(STREAM_HEADER_BYTES + 4);
  if (cmd !== CMD_SUBVOL && cmd !== CMD_SNAPSHOT) throw corrupt(`first command is ${cmd}, not SUBVOL or SNAPSHOT`);
  if (len > MAX_FIRST_COMMAND) throw corrupt(`first command of ${len} bytes`);
  const end = STREAM_HEADER_BYTES + CMD_HEADER_BYTES + len;
  if (buf.length < end) return null;
  let name: string | null = null;
  let uuid: string | null = null;
  let parentUuid: string | null = null;
  let ctransid: number | null = null;
  for (let off = STREAM_HEADER_BYTES + CMD_HEADER_BYTES; off < end; ) {
    if (off + 4 > end) throw corrupt('truncated attribute');
    const type = buf.readUInt16LE(off);
    const alen = buf.readUInt16LE(off + 2);
    const data = buf.subarray(off + 4, off + 4 + alen);
    if (off + 4 + alen > end) throw corrupt('attribute overruns its command');
    if (type === ATTR_PATH) name = data.toString('utf8');
    else if (type === ATTR_UUID && alen === 16) uuid = formatUuid(data);
    else if (type === ATTR_CLONE_UUID && alen === 16) parentUuid = formatUuid(data);
    else if (type === ATTR_CTRANSID && alen === 8) ctransid = Number(data.readBigUInt64LE());
    off += 4 + alen;
  }
  if (name === null || uuid === null) throw corrupt('first command has no path or UUID');
  if (cmd === CMD_SNAPSHOT && parentUuid === null) throw corrupt('SNAPSHOT command without a parent UUID');
  return { version, kind: cmd === CMD_SUBVOL ? 'full' : 'incremental', name, uuid, ctransid, parentUuid: cmd === CMD_SNAPSHOT ? parentUuid : null, length: end };
}

/**
 * Follows the command framing of a stream fed to it chunk by chunk (from its first byte). A stream
 * is one or more snapshots back to back (a batch: `btrfs send` of several), each its own header,
 * first command (SUBVOL or SNAPSHOT) and END. `starts` holds each snapshot's start once its first
 * command is in, so the receiver can check it before passing on the chunk that completes it. It
 * refuses a second snapshot command before END, and tells a complete stream (ends right after an
 * END) from one cut at a command boundary, which `btrfs receive` would take as complete.
 */
export class StreamFraming {
  /** each snapshot's header and first command, in stream order, with where it begins (bytes from the stream's first) */
  readonly starts: Array<StreamStart & { offset: number }> = [];
  private fed = 0;
  private startOffset = 0;
  /** the bytes of a snapshot's header and first command while they come in (null inside a snapshot) */
  private startBuf: Buffer | null = Buffer.alloc(0);
  private cmdHeader = Buffer.alloc(CMD_HEADER_BYTES);
  private cmdHeaderFill = 0;
  private payloadLeft = 0;
  private commands = 0;
  private lastCommand = -1;
  private afterEnd = false;

  feed(chunk: Buffer): void {
    try {
      this.take(chunk);
    } finally {
      this.fed += chunk.length;
    }
  }

  private take(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.startBuf !== null) {
        const had = this.startBuf.length;
        this.startBuf = Buffer.concat([this.startBuf, chunk.subarray(off)]);
        const start = parseStreamStart(this.startBuf);
        if (start === null) return;
        this.starts.push({ ...start, offset: this.startOffset });
        this.startBuf = null;
        this.commands++;
        this.lastCommand = start.kind === 'full' ? CMD_SUBVOL : CMD_SNAPSHOT;
        this.afterEnd = false;
        off += start.length - had;
      } else if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - off);
        this.payloadLeft -= n;
        off += n;
      } else if (this.afterEnd && this.cmdHeaderFill === 0) {
        // the next snapshot of a batch
        this.startBuf = Buffer.alloc(0);
        this.startOffset = this.fed + off;
      } else {
        const n = Math.min(CMD_HEADER_BYTES - this.cmdHeaderFill, chunk.length - off);
        chunk.copy(this.cmdHeader, this.cmdHeaderFill, off, off + n);
        this.cmdHeaderFill += n;
        off += n;
        if (this.cmdHeaderFill === CMD_HEADER_BYTES) {
          this.cmdHeaderFill = 0;
          this.payloadLeft = this.cmdHeader.readUInt32LE(0);
          const cmd = this.cmdHeader.readUInt16LE(4);
          if (cmd === CMD_SUBVOL || cmd === CMD_SNAPSHOT) throw corrupt('a second snapshot command before END');
          this.commands++;
          this.lastCommand = cmd;
          if (cmd === CMD_END) this.afterEnd = true;
        }
      }
    }
  }

  /** the stream so far ends exactly after an END command */
  get complete(): boolean {
    return this.afterEnd && this.payloadLeft === 0 && this.cmdHeaderFill === 0 && this.startBuf === null;
  }

  assertComplete(): void {
    if (!this.complete) {
      throw new TemporaryError(
        `btrfs send stream ended early (after ${this.commands} commands, ${this.lastCommand === -1 ? 'none complete' : `last ${this.lastCommand}`}, no END)`,
        { code: 'TRUNCATED_STREAM' },
      );
    }
  }
}
