import { eachLimited } from '../util/each-limited.js';
import type { FilesystemPlan, InitialReplicationPolicy, Plan } from '../../machines/replication.js';
import type { Step } from '../../machines/filesystem.js';
import type { Version } from '../../machines/version.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { assertSameKind } from '../storage/endpoint.js';
import { globToRegExp } from '../util/glob.js';
import { incrementalPath } from './incremental-path.js';
import { checkSendOptions } from './send-options.js';
import type { JobSendOptions } from '../../machines/send-options.js';

export interface PlanReplicationOptions {
  sender: StorageDriver;
  receiver: StorageDriver;
  /** policy for receiver filesystems without versions; default `most_recent` */
  initial?: InitialReplicationPolicy;
  /** glob on sender filesystem names: `*` any run of characters (`/` included), `?` one character */
  filesystems?: string;
  /** regular expression: only sender snapshots whose name matches are replicated */
  includeSnapshots?: string;
  /** regular expression: sender snapshots whose name matches are not replicated */
  excludeSnapshots?: string;
  /** collapse consecutive incremental steps into one stream where the driver can (zfs send -I) */
  batch?: boolean;
  /** the job's send options: zfs flags on other kinds are refused here (InvalidArgumentError naming the field) */
  send?: JobSendOptions;
}

/** filesystems whose versions planning reads at once, unless a driver asks for fewer (capabilities.listingsAtOnce) */
const FILESYSTEMS_AT_ONCE = 4;

/** The snapshot name filters: field (job spec, details.field) -> CLI flag (in the message). */
const SNAPSHOT_FILTER_FLAGS = { include_snapshots: '--include-snapshots', exclude_snapshots: '--exclude-snapshots' } as const;

/** A user's regular expression, or an InvalidArgumentError naming the flag (message) and the field (details). */
export function snapshotRegExp(field: keyof typeof SNAPSHOT_FILTER_FLAGS, source: string | undefined): RegExp | null {
  if (source === undefined || source === '') return null;
  try {
    return new RegExp(source);
  } catch (err) {
    throw new InvalidArgumentError(`${SNAPSHOT_FILTER_FLAGS[field]} ${JSON.stringify(source)} is not a valid regular expression: ${(err as Error).message}`, {
      code: 'INVALID_ARGUMENT',
      details: { field },
    });
  }
}

/**
 * Pure: joins consecutive incremental steps into one `intermediates` step. Only steps over
 * adjacent sender snapshots join: a snapshot skipped by a filter must not travel in a -I stream.
 */
export function batchSteps(steps: Step[], sender: Version[]): Step[] {
  const index = new Map(sender.map((v, i) => [v.guid, i]));
  const out: Step[] = [];
  for (const step of steps) {
    const prev = out[out.length - 1];
    const adjacent = prev && prev.from !== null && step.from !== null && step.from.guid === prev.to.guid
      && index.get(step.to.guid) === (index.get(step.from.guid) ?? -2) + 1
      && (prev.intermediates || index.get(prev.to.guid) === (index.get(prev.from.guid) ?? -2) + 1);
    if (adjacent) out[out.length - 1] = { from: prev.from, to: step.to, intermediates: true };
    else out.push(step);
  }
  return out;
}

/**
 * The sender's snapshots plus, where the driver has bookmarks (OpenZFS replication cursors), each
 * bookmark whose snapshot is gone but whose version the receiver holds: it can only be an
 * incremental base (the receiver has it), so the path continues from it (`zfs send -i #cursor`)
 * where it would otherwise find no common version and call for a full resend.
 */
async function withBookmarkBases(sender: StorageDriver, fs: string, snapshots: Version[], receiver: Version[]): Promise<Version[]> {
  if (!sender.listBookmarks || !receiver.length || !snapshots.length) return snapshots;
  const own = new Set(snapshots.map((v) => v.guid));
  // the receiver's newest version still a sender snapshot: the usual case, no bookmark needed (nor listed)
  if (own.has(receiver[receiver.length - 1].guid)) return snapshots;
  const received = new Set(receiver.map((v) => v.guid));
  const bases = (await sender.listBookmarks(fs)).filter((b) => !own.has(b.guid) && received.has(b.guid));
  if (!bases.length) return snapshots;
  const seen = new Set<string>();
  return [...snapshots, ...bases.filter((b) => !seen.has(b.guid) && seen.add(b.guid))].sort((a, b) => a.createtxg - b.createtxg);
}

/**
 * Lists the sender's filesystems (those matching `filesystems`, if given) in name order, so a parent
 * comes before its descendants, reads the versions of each on both sides (a filesystem missing on
 * the receiver has none) and computes each one's incremental path. A conflict does not fail the
 * plan: it becomes that filesystem's `problem`, so the others still replicate.
 *
 * Throws InvalidArgumentError (permanent) when the endpoints are of different driver kinds (their
 * streams are not compatible); driver errors pass through with their own kind, so a temporary one
 * makes the replication machine plan again later.
 */
export async function planReplication(opts: PlanReplicationOptions): Promise<Plan> {
  const { sender, receiver } = opts;
  const initial = opts.initial ?? 'most_recent';
  assertSameKind(sender, receiver);
  checkSendOptions(opts.send, sender.kind);
  if (initial !== 'most_recent' && initial !== 'all' && initial !== 'fail') {
    throw new InvalidArgumentError(`unknown initial replication policy "${String(initial)}": use most_recent, all or fail`, {
      code: 'INVALID_INITIAL_POLICY',
    });
  }

  const filter = opts.filesystems === undefined || opts.filesystems === '' ? null : globToRegExp(opts.filesystems);
  const include = snapshotRegExp('include_snapshots', opts.includeSnapshots);
  const exclude = snapshotRegExp('exclude_snapshots', opts.excludeSnapshots);
  const wanted = (v: Version) => (!include || include.test(v.name)) && !(exclude && exclude.test(v.name));
  const filtered = include !== null || exclude !== null;
  // filtered-out snapshots the receiver already has stay, so the common version is still found
  const withoutFilteredOut = (all: Version[], onReceiver: Version[]) => {
    const received = new Set(onReceiver.map((v) => v.guid));
    return all.filter((v) => wanted(v) || received.has(v.guid));
  };
  const batch = !!opts.batch && sender.capabilities.batch && receiver.capabilities.batch;
  const names = (await sender.listFilesystems())
    .filter((name) => filter === null || filter.test(name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  // one listing per endpoint where the driver has it (zfs), else one per filesystem and side
  const [senderAll, receiverAll] = names.length ? await Promise.all([sender.listAllVersions?.(), receiver.listAllVersions?.()]) : [];
  const versionsOf = (driver: StorageDriver, all: Map<string, Version[]> | undefined, name: string) => (all ? Promise.resolve(all.get(name) ?? []) : driver.listVersions(name));

  const planOne = async (name: string): Promise<FilesystemPlan> => {
    // both sides at once; listVersions is [] for a filesystem (or a receiver root) that does not exist yet
    const [snapshots, receiverVersions] = await Promise.all([versionsOf(sender, senderAll, name), versionsOf(receiver, receiverAll, name)]);
    const allSender = await withBookmarkBases(sender, name, snapshots, receiverVersions);
    const senderVersions = filtered ? withoutFilteredOut(allSender, receiverVersions) : allSender;
    if (allSender.length && !senderVersions.length) {
      return { name, steps: [], problem: `none of the ${allSender.length} snapshots of ${name} passes the snapshot filters (--include-snapshots / --exclude-snapshots)` };
    }
    const result = incrementalPath(receiverVersions, senderVersions, initial);
    if ('conflict' in result) return { name, steps: [], problem: result.conflict.message };
    // batching over the snapshots only: a step from a bookmark stays a single -i step (zfs has no -I from one)
    return { name, steps: batch ? batchSteps(result.steps, snapshots) : result.steps };
  };
  // a few filesystems at once: one's listings are read (I/O: a file, a command, a call) while
  // another's are parsed and planned; the plans keep the names' order
  const filesystems: FilesystemPlan[] = new Array(names.length);
  const atOnce = Math.max(1, Math.min(sender.capabilities.listingsAtOnce ?? FILESYSTEMS_AT_ONCE, receiver.capabilities.listingsAtOnce ?? FILESYSTEMS_AT_ONCE));
  await eachLimited(names.length, atOnce, async (i) => {
    filesystems[i] = await planOne(names[i]);
  });
  return { filesystems };
}
