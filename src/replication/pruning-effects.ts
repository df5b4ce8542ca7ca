import type { DestroySnapshotInput, DestroySnapshotOutput, KeptSnapshot, PrunedSnapshot, PrunePlan, PrunePlanInput } from '../../machines/pruning.js';
import type { Version } from '../../machines/version.js';
import { FerryError, PermanentError } from '../errors/index.js';
import { parseKeepRules } from '../retention/rules.js';
import { planPruning } from '../retention/plan.js';
import type { StorageDriver } from '../storage/driver.js';
import { openEndpoint } from '../storage/endpoint.js';
import { destroySnapshot } from '../storage/snapshots.js';
import { globToRegExp } from '../util/glob.js';
import { cursorName } from './cursors.js';

/** Driver refusals that keep one snapshot (zfs clones or holds, the dir receiver's visible tree): the pruning goes on. */
const REFUSALS = new Set(['SNAPSHOT_IN_USE', 'SNAPSHOT_HAS_CLONES', 'SNAPSHOT_HELD']);

/** Pure: the newest version of `side` whose guid `other` also holds (matched by guid, as the replication planner). */
export function newestCommonVersion(side: readonly Version[], other: readonly Version[]): Version | null {
  const guids = new Set(other.map((v) => v.guid));
  let newest: Version | null = null;
  for (const v of side) if (guids.has(v.guid) && (newest === null || v.createtxg > newest.createtxg)) newest = v;
  return newest;
}

function createdAtMs(v: Version, now: number): number {
  const ms = v.creation ? Date.parse(v.creation) : NaN;
  // a driver that cannot tell: as new as can be, so grid and age rules keep it
  return Number.isFinite(ms) ? ms : now;
}

/**
 * The filesystems to prune on a side: its own, matching the job's glob. A receiver adds the
 * sender's (replication names them alike), and a receiver root that does not exist yet (nothing
 * received so far) has none of its own rather than failing the pruning.
 */
async function filesystemsOf(driver: StorageDriver, glob: string | undefined, sender: StorageDriver | null): Promise<string[]> {
  const re = glob ? globToRegExp(glob) : null;
  const own = await driver.listFilesystems().catch((err: unknown) => {
    if (sender !== null && err instanceof PermanentError && err.code === 'NOT_FOUND') return [];
    throw err;
  });
  const names = new Set([...own, ...(sender ? await sender.listFilesystems() : [])]);
  return [...names].filter((n) => re === null || re.test(n)).sort();
}

/** A sender/receiver pair's protected version of one filesystem, as a plan found it. */
export interface ProtectedVersion {
  sender: string;
  receiver: string;
  filesystem: string;
  snapshot: string;
}

/**
 * The `planPrune` effect: lists the side's snapshots with their creation times and the other side(s)'
 * versions, protects the newest common version of each sender/receiver pair (the next incremental
 * base), and runs the retention planner per filesystem. On the sender, `not_replicated` counts a
 * snapshot replicated when every receiver holds its guid. Reads only; destroys nothing.
 * `onProtected` hears each pair's protected version (the ferry_protected_version_info metric).
 */
export async function planPrune(input: PrunePlanInput, now: number, onProtected?: (p: ProtectedVersion) => void): Promise<PrunePlan> {
  const rules = parseKeepRules(input.rules, `retention.${input.side === 'sender' ? 'sender' : 'receivers'}`);
  const driver = openEndpoint(input.endpoint);
  const peers = input.side === 'sender' ? input.receivers : [input.sender];
  const peerDrivers = peers.map((p) => ({ endpoint: p, driver: openEndpoint(p) }));
  const destroy: PrunedSnapshot[] = [];
  const keep: KeptSnapshot[] = [];
  for (const fs of await filesystemsOf(driver, input.filesystems, input.side === 'receiver' ? peerDrivers[0].driver : null)) {
    const versions = await driver.listVersions(fs);
    if (!versions.length) continue;
    const protectedNames = new Map<string, string>();
    const onEveryPeer = new Map(versions.map((v) => [v.guid, 0]));
    // OpenZFS: the sender's cursor bookmarks; a pair whose cursor is at its newest common version needs no snapshot kept for it
    const bookmarks = input.side === 'sender' && driver.listBookmarks ? await driver.listBookmarks(fs) : [];
    for (const peer of peerDrivers) {
      // a receiver's base may be a sender bookmark whose snapshot is gone: it still protects the receiver's copy
      const theirBookmarks = input.side === 'receiver' && peer.driver.listBookmarks ? await peer.driver.listBookmarks(fs) : [];
      const theirs = [...(await peer.driver.listVersions(fs)), ...theirBookmarks];
      const common = newestCommonVersion(versions, theirs);
      const cursor = bookmarks.find((b) => b.name === `#${cursorName(peer.endpoint)}`);
      const theirGuids = new Set(theirs.map((v) => v.guid));
      if (cursor && theirGuids.has(cursor.guid) && (common === null || cursor.createtxg >= common.createtxg)) {
        // the next incremental sends from the bookmark (zfs send -i #cursor): the snapshot may go
        onProtected?.({ sender: input.endpoint, receiver: peer.endpoint, filesystem: fs, snapshot: cursor.name });
      } else if (common) {
        const why = input.side === 'sender' ? `newest common version with receiver ${peer.endpoint}` : `newest common version with sender ${peer.endpoint}`;
        protectedNames.set(common.name, protectedNames.has(common.name) ? `${protectedNames.get(common.name)}; ${why}` : why);
        const pair = input.side === 'sender' ? { sender: input.endpoint, receiver: peer.endpoint } : { sender: peer.endpoint, receiver: input.endpoint };
        onProtected?.({ ...pair, filesystem: fs, snapshot: common.name });
      }
      for (const v of versions) if (theirGuids.has(v.guid)) onEveryPeer.set(v.guid, onEveryPeer.get(v.guid)! + 1);
    }
    const replicatedToAll = new Set(versions.filter((v) => onEveryPeer.get(v.guid) === peerDrivers.length).map((v) => v.name));
    const result = planPruning({
      snapshots: versions.map((v) => ({ name: v.name, createdAt: createdAtMs(v, now) })),
      rules, prefix: input.prefix, now, protected: protectedNames,
      ...(input.side === 'sender' ? { replicatedToAll } : {}),
    });
    for (const d of result.destroy) destroy.push({ filesystem: fs, name: d.name, reason: d.reason });
    for (const k of result.keep) keep.push({ filesystem: fs, name: k.name, reasons: k.reasons });
  }
  return { destroy, keep };
}

/**
 * The `destroySnapshot` effect: one named snapshot, through the code path of `ferry destroy`. A
 * snapshot already gone (an earlier attempt whose worker died after destroying it) is not an
 * error, so a resumed pruning destroys nothing twice and fails nothing; a driver's refusal to
 * destroy what it must keep is reported, not thrown, and the pruning goes on.
 */
export async function destroyPlanned(input: DestroySnapshotInput): Promise<DestroySnapshotOutput> {
  try {
    await destroySnapshot(input.endpoint, `${input.filesystem}@${input.name}`);
    return { outcome: 'destroyed' };
  } catch (err) {
    const code = err instanceof FerryError ? err.code : undefined;
    if (err instanceof PermanentError && code === 'SNAPSHOT_NOT_FOUND') return { outcome: 'gone' };
    if (err instanceof PermanentError && code !== undefined && REFUSALS.has(code)) return { outcome: 'refused', message: err.message };
    throw err;
  }
}
