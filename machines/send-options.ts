/**
 * A job's options for the stream of every step (docs/send-options.md): zfs send and receive flags
 * and a bandwidth limit. Carried unchanged from the job through the replication and filesystem
 * machines into every `replicateStep` input; absent (or every field absent) = plain streams, no limit.
 */
export interface JobSendOptions {
  /** zfs send -w: the blocks as stored (encrypted stays encrypted on the receiver) */
  raw?: boolean;
  /** zfs send -c, btrfs send --compressed-data: compressed blocks stay compressed in the stream */
  compressed?: boolean;
  /** zfs send -L: blocks larger than 128 KiB stay large */
  largeBlocks?: boolean;
  /** zfs send -p: the dataset's properties travel with the stream */
  properties?: boolean;
  /** a non-raw send of an encrypted dataset (the receiver gets plain data): refused unless set */
  allowDecryptedSend?: boolean;
  /** zfs receive -o prop=value (e.g. "readonly=on"), in order */
  receiveSet?: string[];
  /** zfs receive -x prop (e.g. "mountpoint"), in order */
  receiveExclude?: string[];
  /** bytes per second on every path of a step (stream, agent, local pipes); absent = unlimited */
  bandwidthLimit?: number;
}

/** The options that are zfs send flags (the booleans): -w -c -L -p in zfs's order, then the encrypted-send guard. */
export const SEND_FLAGS = ['raw', 'compressed', 'largeBlocks', 'properties', 'allowDecryptedSend'] as const;
export type SendFlagName = (typeof SEND_FLAGS)[number];

/** The send flags each storage kind honours: btrfs only `compressed` (btrfs send --compressed-data), the dir driver none. */
export const FLAGS_HONOURED: Readonly<Record<'zfs' | 'btrfs' | 'dir', readonly SendFlagName[]>> = { zfs: SEND_FLAGS, btrfs: ['compressed'], dir: [] };

/** Pure: the first of `options` (field names) that a `kind` endpoint does not honour, or undefined. */
export function unhonoured<K extends string>(kind: keyof typeof FLAGS_HONOURED, options: readonly K[]): K | undefined {
  const honoured: readonly string[] = FLAGS_HONOURED[kind];
  return options.find((k) => !honoured.includes(k));
}

/** Pure: every send flag of `o` as true or false, as the gRPC messages carry them (absent = false). */
export function sendFlagsOf(o: Partial<Record<SendFlagName, unknown>> | null | undefined): Record<SendFlagName, boolean> {
  return Object.fromEntries(SEND_FLAGS.map((k) => [k, !!o?.[k]])) as Record<SendFlagName, boolean>;
}

/** Pure: whether any option is set (a plain job carries none in its machines' inputs). */
export function hasSendOptions(o: JobSendOptions | undefined): o is JobSendOptions {
  if (!o) return false;
  return Object.values(o).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== false && v !== 0));
}

/**
 * Pure: the options for one of `ways` streams that run at once under the same job: the bandwidth
 * limit is shared (at least 1 byte/s each), so the job as a whole stays within it. The job divides
 * it among its receivers (replicated at once), each replication among the filesystems it runs at once.
 */
export function shareOfLimit<T extends JobSendOptions | undefined>(o: T, ways: number): T {
  if (!o || !o.bandwidthLimit || ways <= 1) return o;
  return { ...o, bandwidthLimit: Math.max(1, Math.floor(o.bandwidthLimit / ways)) };
}
