import type { Readable } from 'node:stream';
import type { Version } from '../../machines/version.js';
import type { JobSendOptions, SendFlagName } from '../../machines/send-options.js';

// declared once in machines/ (the lowest layer); drivers and their users take it from here
export type { Version };

/** zfs send flags (-w -c -L -p) and the encrypted-dataset guard; only the zfs driver honours them (docs/send-options.md) */
export type SendFlags = Pick<JobSendOptions, SendFlagName>;
/** zfs receive -o prop=value and -x prop; only the zfs driver honours them */
export type ReceiveOverrides = Pick<JobSendOptions, 'receiveSet' | 'receiveExclude'>;

export interface SendOptions {
  signal?: AbortSignal;
  /**
   * send every snapshot after `from` up to `to` in one stream (zfs send -I); only when
   * `capabilities.batch` is true. The receiver then has all of them.
   */
  intermediates?: boolean;
  /**
   * continue the receiver's interrupted receive (its `resumeToken(fs)`) instead of sending from
   * the start (zfs only). PermanentError RESUME_MISMATCH when the token is of another step,
   * RESUME_STALE when it can no longer be resumed, RESUME_UNSUPPORTED when this zfs cannot (zfs-fuse):
   * the caller then sends afresh.
   */
  resumeToken?: string;
  /** zfs: the job's send flags; PermanentError SEND_OPTION_UNSUPPORTED when this zfs lacks one, ENCRYPTED_SEND when a non-raw send of an encrypted dataset is not allowed */
  flags?: SendFlags;
  /**
   * btrfs: the newest send stream protocol the receiver reads (its receiveProtocol()); the stream
   * is of the newest version both ends have. Absent: version 1, which every btrfs receive reads.
   * With `flags.compressed` (protocol 2), 1 is PermanentError SEND_OPTION_UNSUPPORTED.
   */
  streamProtocol?: number;
}

export interface DriverCapabilities {
  /** one stream can carry several snapshots (zfs send -I) */
  batch: boolean;
  /** an interrupted receive can resume (zfs receive_resume_token) */
  resumable: boolean;
  /** snapshots of several filesystems can be taken atomically (zfs snapshot -r / several names) */
  atomicSnapshots: boolean;
  /**
   * How many listVersions calls planning keeps in flight (each for another filesystem). More hide
   * the latency of a command or a call; a driver whose listing is mostly parsing in this process
   * (dir: a local file) wants few, as every listing in flight keeps its versions alive (GC work).
   * @defaultValue 4 (the planner's FILESYSTEMS_AT_ONCE)
   */
  listingsAtOnce?: number;
}

export interface SendStream {
  stream: Readable;
  /** bytes the stream will carry, when the driver can tell in advance (progress and ETA) */
  sizeEstimate?: number;
}

export interface ReceiveOptions {
  signal?: AbortSignal;
  /** zfs: receive -o / -x; PermanentError SEND_OPTION_UNSUPPORTED when this zfs has no -o/-x */
  overrides?: ReceiveOverrides;
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** as SendOptions.intermediates */
  intermediates?: boolean;
  /**
   * bytes carried so far, called every ~250 ms while the transfer runs (feeds the watchdog); `total`
   * is the stream's size when the driver can tell in advance (as SendStream.sizeEstimate)
   */
  onProgress?: (bytes: number, total?: number) => void;
  /** as SendOptions.flags */
  flags?: SendFlags;
  /** as ReceiveOptions.overrides */
  overrides?: ReceiveOverrides;
  /**
   * resolves once the step's versions are held (the step runner's holds, taken while the driver
   * reads both ends): nothing is sent before it
   */
  ready?: Promise<void>;
  /** called once the stream has ended, whatever the outcome (the holds may go while the result is checked) */
  streamEnded?: () => void;
}

export interface TransferResult {
  /** bytes of the stream */
  bytes: number;
  /** the newest version received (as receive() returns; its creation time may be absent) */
  version: Version;
}

/**
 * A storage driver for one endpoint root. Filesystem names are relative to the root
 * ("" is the root itself where the driver has one, "a/b" a descendant).
 * Every method validates names before touching anything and throws InvalidArgumentError on bad ones.
 * Errors are TemporaryError or PermanentError (src/errors) so machines can decide.
 */
export interface StorageDriver {
  readonly kind: 'dir' | 'zfs' | 'btrfs';
  /** the endpoint as a person wrote it, e.g. "dir:/srv/a" */
  readonly endpoint: string;
  readonly capabilities: DriverCapabilities;
  listFilesystems(): Promise<string[]>;
  /** versions of one filesystem, oldest first (by createtxg); [] if it has none or does not exist */
  listVersions(fs: string): Promise<Version[]>;
  /**
   * Optional: the versions of every filesystem of the endpoint from one listing (zfs: one `zfs get
   * -r`), by filesystem name, each as listVersions gives it; a filesystem absent from the map has
   * none. Planning asks it once instead of listVersions once per filesystem.
   */
  listAllVersions?(): Promise<Map<string, Version[]>>;
  /** take a snapshot named `name` of each filesystem; returns the new versions in the same order */
  snapshot(filesystems: string[], name: string): Promise<Version[]>;
  /**
   * Destroy the one snapshot `filesystem@name`, nothing else (never the filesystem, never other
   * snapshots, never recursively). PermanentError SNAPSHOT_NOT_FOUND naming it when there is no such
   * version; a PermanentError saying why when the driver must keep it (zfs clones or holds, the dir
   * driver's receiver tree).
   */
  destroySnapshot(filesystem: string, name: string): Promise<void>;
  /** a full (from = null) or incremental stream carrying `to` */
  send(fs: string, from: Version | null, to: Version, opts?: SendOptions): Promise<SendStream>;
  /**
   * The bytes send() would carry for this step, found without sending (dry runs); undefined when
   * the driver cannot tell in advance. Same checks and errors as send().
   */
  estimateSend?(fs: string, from: Version | null, to: Version, opts?: Pick<SendOptions, 'signal' | 'intermediates' | 'flags'>): Promise<number | undefined>;
  /**
   * Apply a stream made by send() of the same driver kind. Atomic: either the new version
   * exists afterwards with all its data, or the receiver is exactly as before.
   */
  receive(fs: string, stream: Readable, opts?: ReceiveOptions): Promise<Version>;
  /**
   * btrfs: the newest send stream protocol this endpoint's btrfs receive reads, for the sender's
   * SendOptions.streamProtocol (a stream that leaves the host is of the newest both ends have).
   */
  receiveProtocol?(): Promise<number>;
  /**
   * Where receives can resume (OpenZFS): the token of an interrupted receive into `fs`, to pass to
   * the sender's send() as `resumeToken`; null when there is none or the driver cannot tell.
   */
  resumeToken?(fs: string): Promise<string | null>;
  /**
   * Optional fast path: send `to` (from `from`) straight into `receiver` when it is a local driver
   * of the same kind, the data going from the send process to the receive process through OS
   * pipes, never through JavaScript. Same guarantees as send() piped into receive(). Resolves
   * null when not applicable (the caller then uses send() and receive()).
   */
  /**
   * zfs: a user hold `tag` on each named snapshot of `fs` while a step uses it (so pruning, or a
   * person, cannot destroy it meanwhile); idempotent; a no-op where zfs has no holds.
   */
  holdSnapshots?(fs: string, names: string[], tag: string): Promise<void>;
  /** zfs: releases what holdSnapshots took; a hold or snapshot already gone is fine */
  releaseSnapshots?(fs: string, names: string[], tag: string): Promise<void>;
  /** zfs (OpenZFS): the bookmarks of `fs` as versions named `#<bookmark>`, oldest first; usable as an incremental `from` in send() */
  listBookmarks?(fs: string): Promise<Version[]>;
  /** zfs (OpenZFS): points bookmark `#<name>` at `version`; false where zfs has no bookmarks */
  setBookmark?(fs: string, version: Version, name: string): Promise<boolean>;
  transferTo?(receiver: StorageDriver, fs: string, from: Version | null, to: Version, opts?: TransferOptions): Promise<TransferResult | null>;
}
