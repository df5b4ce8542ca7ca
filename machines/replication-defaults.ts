// A module of its own, without xstate: the CLI's option defaults load nothing else of the machines.

/**
 * Filesystems replicating at once per receiver when the caller does not say (`--concurrency`, a
 * job's `concurrency`): steps wait on send and receive processes more than on ferry, and 8 cut 40
 * btrfs filesystems' run by a quarter against 4 on the 2-CPU development VM; zfs-fuse serialises
 * its commands and neither gains nor loses (bench/README.md, peers).
 */
export const DEFAULT_REPLICATION_CONCURRENCY = 8;
