import { PermanentError } from '../../errors/index.js';

/**
 * The first record of a `zfs send` stream (a DRR_BEGIN dmu_replay_record, 312 bytes), read before
 * `zfs receive` starts so the driver knows what the stream carries: which snapshot (guid, name), on
 * top of which (fromguid; 0 for a full stream) and whether it is a compound stream (`send -I`,
 * `-R`: a header record, an nvlist payload, an END record, then one substream per snapshot).
 *
 * Record layout (both OpenZFS and zfs-fuse): u32 drr_type (0 = BEGIN), u32 drr_payloadlen, then
 * u64 magic 0x2F5BACBAC, u64 versioninfo, u64 creation_time, u32 type, u32 flags, u64 toguid,
 * u64 fromguid, char toname[256]. Byte order is the sender's: the magic tells which.
 */
export const RECORD_BYTES = 312;
const MAGIC = 0x2f5bacbacn;
const DRR_BEGIN = 0;
const DRR_END = 5;
const DMU_COMPOUNDSTREAM = 2;
/** DMU_BACKUP_FEATURE_RESUMING: a `zfs send -t <token>` stream */
const FEATURE_RESUMING = 1n << 20n;
/** sanity limit for the nvlist payload of a compound header */
const MAX_PAYLOAD = 64 * 1024 * 1024;

export interface StreamHeader {
  /** `send -I` / `-R`: several snapshots, each in its own substream */
  compound: boolean;
  /** guid of the (first) snapshot the stream carries, decimal */
  toguid: string;
  /** guid of the snapshot it applies on top of, "0" for a full stream */
  fromguid: string;
  /** the sender's name of that snapshot, e.g. "pool/data/a@s1" */
  toname: string;
  /** a resumed stream (`zfs send -t`) */
  resuming: boolean;
}

function corrupt(why: string): PermanentError {
  return new PermanentError(`corrupt stream: not a zfs send stream (${why})`, { code: 'CORRUPT_STREAM' });
}

interface Begin {
  payloadlen: number;
  versioninfo: bigint;
  toguid: bigint;
  fromguid: bigint;
  toname: string;
  le: boolean;
}

function readBegin(buf: Buffer, at: number): Begin {
  const le = buf.readBigUInt64LE(at + 8) === MAGIC;
  if (!le && buf.readBigUInt64BE(at + 8) !== MAGIC) throw corrupt(`no BEGIN magic at byte ${at}`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(at + o) : buf.readUInt32BE(at + o));
  const u64 = (o: number) => (le ? buf.readBigUInt64LE(at + o) : buf.readBigUInt64BE(at + o));
  if (u32(0) !== DRR_BEGIN) throw corrupt(`record at byte ${at} is not a BEGIN record`);
  const nameBytes = buf.subarray(at + 56, at + 56 + 256);
  const nul = nameBytes.indexOf(0);
  return {
    payloadlen: u32(4),
    versioninfo: u64(16),
    toguid: u64(40),
    fromguid: u64(48),
    toname: nameBytes.subarray(0, nul === -1 ? 256 : nul).toString('utf8'),
    le,
  };
}

/** What the driver needs of the BEGIN record of the (first) snapshot the stream carries. */
function header(compound: boolean, b: Begin): StreamHeader {
  return {
    compound,
    toguid: b.toguid.toString(),
    fromguid: b.fromguid.toString(),
    toname: b.toname,
    resuming: ((b.versioninfo >> 2n) & FEATURE_RESUMING) !== 0n,
  };
}

/**
 * Pure: the header of a stream whose first `buf.length` bytes are given, or 'need-more' when
 * more bytes are needed. Throws PermanentError CORRUPT_STREAM when it is not a zfs stream.
 */
export function parseStreamHeader(buf: Buffer): StreamHeader | 'need-more' {
  if (buf.length < RECORD_BYTES) return 'need-more';
  const first = readBegin(buf, 0);
  if (Number(first.versioninfo & 3n) !== DMU_COMPOUNDSTREAM) return header(false, first);
  if (first.payloadlen > MAX_PAYLOAD) throw corrupt(`compound header payload of ${first.payloadlen} bytes`);
  const end = RECORD_BYTES + first.payloadlen;
  const sub = end + RECORD_BYTES;
  if (buf.length < sub + RECORD_BYTES) return 'need-more';
  const endType = first.le ? buf.readUInt32LE(end) : buf.readUInt32BE(end);
  if (endType !== DRR_END) throw corrupt('compound header is not followed by an END record');
  return header(true, readBegin(buf, sub));
}
