import { tmpdir } from 'node:os';

/**
 * Where the test pools' and btrfs filesystems' image files go, and the Sentinel topology's data
 * (test/helpers/sentinel.ts): FERRY_TEST_IMAGES_DIR when set
 * (scripts/run-tests.mjs sets /dev/shm for the host's files: a zfs-fuse txg sync or a loop device's
 * flush then waits on no disk, which a busy CI machine's builds and VMs keep saturated), else the
 * temp dir (the benches, the OpenZFS VM, whose throttled disk the killed-step tests rely on).
 */
export function imagesDir(): string {
  return process.env.FERRY_TEST_IMAGES_DIR || tmpdir();
}
