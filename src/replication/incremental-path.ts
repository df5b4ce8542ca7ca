import type { Step } from '../../machines/filesystem.js';
import type { InitialReplicationPolicy } from '../../machines/replication.js';
import type { Version } from '../storage/driver.js';

/** Why a filesystem cannot be replicated without a person deciding something. */
export type ConflictCode =
  /** the sender has no snapshots of the filesystem: nothing to send */
  | 'CONFLICT_SENDER_EMPTY'
  /** the receiver has no versions and the initial replication policy is `fail` */
  | 'CONFLICT_RECEIVER_EMPTY'
  /** the receiver has versions, none of them on the sender */
  | 'CONFLICT_NO_COMMON_VERSION'
  /** the receiver has versions newer than the newest common one (or in another order) */
  | 'CONFLICT_DIVERGED';

export interface Conflict {
  code: ConflictCode;
  /** what is wrong and what a person can do about it */
  message: string;
}

export type IncrementalPathResult = { steps: Step[] } | { conflict: Conflict };

function byCreatetxg(a: Version, b: Version): number {
  return a.createtxg - b.createtxg;
}

/** `versions` by createtxg: itself when already so (drivers list oldest first), else a sorted copy. Never sorted in place. */
function ordered(versions: readonly Version[]): readonly Version[] {
  for (let i = 1; i < versions.length; i++) if (versions[i - 1].createtxg > versions[i].createtxg) return [...versions].sort(byCreatetxg);
  return versions;
}

function label(v: Version): string {
  return `@${v.name} (guid ${v.guid})`;
}

function labels(versions: readonly Version[], max = 5): string {
  const shown = versions.slice(0, max).map(label).join(', ');
  return versions.length > max ? `${shown} and ${versions.length - max} more` : shown;
}

/** A copy of `v` holding only the Version fields (the machines' Version is the same shape). */
function plain(v: Version): Version {
  return v.creation === undefined
    ? { name: v.name, guid: v.guid, createtxg: v.createtxg }
    : { name: v.name, guid: v.guid, createtxg: v.createtxg, creation: v.creation };
}

/** Steps from `base` (null = full send of the first) through every version of `path`, one step each. */
function chain(base: Version | null, path: readonly Version[]): Step[] {
  const steps: Step[] = [];
  let from = base === null ? null : plain(base);
  for (const v of path) {
    const to = plain(v);
    steps.push({ from, to });
    from = to;
  }
  return steps;
}

/**
 * Pure: the steps that bring the receiver's copy of one filesystem up to the sender's newest
 * snapshot, or the conflict that prevents it.
 *
 * Versions are matched by guid only, never by name or time; each side is ordered by its own
 * createtxg. The path starts at the receiver's newest version, which must also be on the sender,
 * and takes every newer sender snapshot in createtxg order, one step per snapshot. A receiver with no
 * versions gets the `initial` policy: `most_recent` sends the newest sender snapshot in full, `all`
 * sends the oldest in full and then every newer one incrementally, `fail` is a conflict. Nothing
 * here ever asks to destroy or roll back receiver data, and an older version is never sent over a
 * newer one: when the receiver has anything the sender's path does not continue from, that is a
 * conflict for a person to resolve.
 */
export function incrementalPath(
  receiver: readonly Version[],
  sender: readonly Version[],
  initial: InitialReplicationPolicy = 'most_recent',
): IncrementalPathResult {
  const sent = ordered(sender);
  const received = ordered(receiver);

  if (sent.length === 0) {
    const has = received.length === 0 ? '' : ` (the receiver has ${received.length} version(s), newest ${label(received[received.length - 1])})`;
    return {
      conflict: {
        code: 'CONFLICT_SENDER_EMPTY',
        message:
          `the sender has no snapshots of this filesystem${has}: ` +
          'take a snapshot on the sender (ferry snapshot) and replicate again, or exclude this filesystem',
      },
    };
  }

  if (received.length === 0) {
    switch (initial) {
      case 'all':
        return { steps: chain(null, sent) };
      case 'fail':
        return {
          conflict: {
            code: 'CONFLICT_RECEIVER_EMPTY',
            message:
              `the receiver has no versions of this filesystem and the initial replication policy is "fail": ` +
              `run with initial policy "most_recent" (send ${label(sent[sent.length - 1])}) or "all" ` +
              `(send all ${sent.length} snapshot(s)) to start it`,
          },
        };
      case 'most_recent':
      default:
        return { steps: chain(null, [sent[sent.length - 1]]) };
    }
  }

  // The usual case: the receiver's newest version is on the sender, near its end, so a scan from
  // there finds it without a map of every guid (planning reads 10,000s of versions per filesystem).
  const newest = received[received.length - 1].guid;
  for (let i = sent.length - 1; i >= 0; i--) {
    if (sent[i].guid === newest) return continueFrom(sent[i], sent.slice(i + 1), received);
  }

  const onSender = new Set(sent.map((v) => v.guid));

  // newest receiver version that the sender also has
  let common = -1;
  for (let i = received.length - 1; i >= 0; i--) {
    if (onSender.has(received[i].guid)) {
      common = i;
      break;
    }
  }

  if (common === -1) {
    return {
      conflict: {
        code: 'CONFLICT_NO_COMMON_VERSION',
        message:
          `no common version: the receiver has ${labels(received)} and the sender has none of them ` +
          `(the sender has ${labels(sent)}). ferry never destroys or rolls back receiver data: ` +
          'destroy the receiver filesystem by hand to start over, or pick another receiver path',
      },
    };
  }

  // the receiver's newest version is not on the sender (the scan above would have found it): what
  // the receiver has after the common one diverged
  const newer = received.slice(common + 1);
  return {
    conflict: {
      code: 'CONFLICT_DIVERGED',
      message:
        `diverged: the receiver has ${labels(newer)}, newer than the newest common version ` +
        `${label(received[common])}, that the sender does not have. ferry never destroys or rolls back ` +
        'receiver data: destroy those snapshots on the receiver by hand (or roll it back to the common ' +
        'version), or pick another receiver path',
    },
  };
}

/**
 * The steps from `base` (the receiver's newest version, found on the sender) through `path` (the
 * sender's snapshots after it), or the conflict of a receiver that already has one of them.
 */
function continueFrom(base: Version, path: readonly Version[], received: readonly Version[]): IncrementalPathResult {
  // Downgrade prevention: every version on the receiver must come at or before the base in the
  // sender's order, else the path would send something the receiver already has after it.
  const reordered = onReceiver(path, received);
  if (reordered.length > 0) {
    return {
      conflict: {
        code: 'CONFLICT_DIVERGED',
        message:
          `diverged: the receiver's newest version ${label(base)} comes after ${labels(reordered)} on the ` +
          'receiver but before them on the sender, so continuing would replicate older data over newer. ' +
          'ferry never destroys or rolls back receiver data: check both sides by hand, or pick another receiver path',
      },
    };
  }
  return { steps: chain(base, path) };
}

/** The versions of `path` the receiver has, in path order. The path is usually a few versions and the receiver many: those go in the set. */
function onReceiver(path: readonly Version[], received: readonly Version[]): Version[] {
  if (path.length === 1) {
    // the usual incremental run: one new snapshot, compared without hashing 10,000s of guids
    const guid = path[0].guid;
    return received.some((v) => v.guid === guid) ? [path[0]] : [];
  }
  if (path.length < received.length) {
    const pathGuids = new Set(path.map((v) => v.guid));
    if (!received.some((v) => pathGuids.has(v.guid))) return [];
  }
  const receivedGuids = new Set(received.map((v) => v.guid));
  return path.filter((v) => receivedGuids.has(v.guid));
}
