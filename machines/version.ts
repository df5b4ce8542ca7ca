/**
 * One snapshot of one filesystem, as the machines, the planner and the drivers see it. Matched by
 * guid, ordered by createtxg. Declared in the lowest layer so that src/storage/driver.ts can
 * re-export it instead of keeping a second declaration.
 */
export interface Version {
  /** snapshot name without the filesystem part, e.g. "ferry_20261121T101500Z" */
  name: string;
  /** identity across sender and receiver: zfs guid, btrfs (received) uuid, dir driver guid */
  guid: string;
  /** creation order on the node that created it (zfs createtxg, dir driver counter) */
  createtxg: number;
  /** ISO time the snapshot was taken, informational only */
  creation?: string;
}
