import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, PermanentError } from '../../errors/index.js';
import { runBtrfs } from './run-btrfs.js';

/**
 * The send stream protocol of the local fast path, where btrfs send and btrfs receive are this
 * host's own btrfs-progs. btrfs send defaults to version 1 (btrfs-progs 6.x); version 2 (kernel
 * 6.0+, btrfs-progs 6.0+) carries file data in writes of up to 128 KiB instead of 48 KiB, so both
 * ends make fewer system calls: a 590 MB full send and receive took 10 % less time here. A stream
 * that may leave the host (an agent's, or through Node) is of the newest version both ends have
 * when the receiver said which it reads (StorageDriver.receiveProtocol, an agent's
 * DescribeReceiver), else of version 1, which every btrfs-progs receives, unless the job asks for
 * compressed data (send.compressed: `--compressed-data`, which needs version 2).
 * FERRY_BTRFS_SEND_PROTOCOL=1 keeps this host on version 1, sending and receiving.
 */

/** the newest version this driver has been checked with (a later one is not taken on trust) */
export const NEWEST_CHECKED = 2;
const KERNEL_VERSION_FILE = '/sys/fs/btrfs/features/send_stream_version';

/**
 * Pure: the protocol to send with, from the kernel's newest (its sysfs file's text, null when
 * absent), btrfs-progs' `--version` line and FERRY_BTRFS_SEND_PROTOCOL's value.
 */
export function chooseProtocol(kernel: string | null, progsVersion: string, setting: string | undefined): number {
  if (setting !== undefined && setting !== '') {
    if (setting !== '1' && setting !== '2') {
      throw new InvalidArgumentError(`FERRY_BTRFS_SEND_PROTOCOL must be 1 or 2, not ${JSON.stringify(setting)}`, { code: 'INVALID_ARGUMENT', details: { variable: 'FERRY_BTRFS_SEND_PROTOCOL' } });
    }
    if (setting === '1') return 1;
  }
  const m = /v(\d+)\.(\d+)/.exec(progsVersion);
  // `--proto` came with btrfs-progs 6.0: an older btrfs send would refuse the option
  if (!m || Number(m[1]) < 6) return 1;
  const k = Number(kernel?.trim());
  return Number.isInteger(k) && k >= 2 ? Math.min(k, NEWEST_CHECKED) : 1;
}

let cached: Promise<number> | undefined;

/** This host's choice, found once per process (a `btrfs --version` and a sysfs read). */
export function localSendProtocol(): Promise<number> {
  cached ??= (async () => {
    const [kernel, progs] = await Promise.all([
      readFile(KERNEL_VERSION_FILE, 'utf8').catch(() => null),
      runBtrfs(['--version']).catch(() => ''),
    ]);
    return chooseProtocol(kernel, progs, process.env.FERRY_BTRFS_SEND_PROTOCOL);
  })();
  cached.catch(() => {
    cached = undefined; // a bad setting is reported at every step, not remembered
  });
  return cached;
}

/** What a `btrfs send` writes: its stream protocol, and whether compressed extents stay compressed. */
export interface StreamFormat {
  protocol: number;
  compressed: boolean;
}

/** What a send knows of where its stream goes. */
export interface StreamPeer {
  compressed: boolean;
  /** both ends are this host's btrfs-progs (the fast path) */
  local: boolean;
  /** the newest protocol the receiver reads, when it said (SendOptions.streamProtocol) */
  receiver?: number;
}

/**
 * The format of a send. `local`: both ends are this host's (the fast path), so the newest protocol
 * the host has; otherwise the newest this host and the receiver both have when the receiver said,
 * else version 1; 2 when `compressed` (the receiver must then read it: btrfs-progs 6.0 or later).
 * PermanentError SEND_OPTION_UNSUPPORTED when compressed data is asked for and either end cannot
 * take it: refused rather than sent decompressed.
 */
export async function streamProtocol(o: StreamPeer): Promise<StreamFormat> {
  if (!o.local && !o.compressed && !((o.receiver ?? 0) > 1)) return { protocol: 1, compressed: false };
  return formatFor(o, await localSendProtocol(), process.env.FERRY_BTRFS_SEND_PROTOCOL);
}

/** Pure: streamProtocol's choice with the host's newest protocol and FERRY_BTRFS_SEND_PROTOCOL's value. */
export function formatFor(o: StreamPeer, newest: number, setting: string | undefined): StreamFormat {
  const unsupported = (what: string, why: string, upgrade: string) => new PermanentError(`send.compressed: ${what} compressed data (btrfs send --compressed-data, stream protocol 2: ${why}): remove send.compressed from the job or upgrade ${upgrade}`, {
    code: 'SEND_OPTION_UNSUPPORTED', details: { field: 'send.compressed', flag: '--compressed-data' },
  });
  if (o.compressed && newest < 2) {
    throw unsupported('this host\'s btrfs cannot send', setting === '1' ? 'FERRY_BTRFS_SEND_PROTOCOL=1 is set' : 'it needs Linux 6.0 and btrfs-progs 6.0 or later', 'this host');
  }
  const receiver = o.receiver || undefined; // 0: the receiver did not say
  if (o.compressed && receiver !== undefined && receiver < 2) {
    throw unsupported('the receiver\'s btrfs cannot read', `it reads protocol ${receiver}; 2 needs Linux 6.0 and btrfs-progs 6.0 or later there, without FERRY_BTRFS_SEND_PROTOCOL=1`, 'the receiver');
  }
  const protocol = o.local ? newest : o.compressed ? 2 : Math.min(receiver ?? 1, newest);
  return { protocol, compressed: o.compressed };
}

/** `btrfs send`'s options for `format`: none for version 1 (btrfs send's default) uncompressed. */
export function formatArgs(format: StreamFormat): string[] {
  return [...(format.protocol > 1 ? ['--proto', String(format.protocol)] : []), ...(format.compressed ? ['--compressed-data'] : [])];
}
