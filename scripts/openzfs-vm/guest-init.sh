#!/bin/sh
# Run as PID 1 of the OpenZFS test VM by boot-init.sh, from the exchange folder /ferry-out that
# test/helpers/openzfs-vm.ts shares. Mounts the host's repository (9p tag ferry-repo, read-only, at
# its host path, given as ferry.repo= on the kernel command line), loads zfs, runs
# /ferry-out/command.sh in the repository, leaves its output in /ferry-out/log and its exit status
# in /ferry-out/exit, and powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
mount -t tmpfs tmpfs /run
ip link set lo up

# /tmp stays on the root disk (booted with -snapshot): test pools are files of a GiB or more
chmod 1777 /tmp
repo=
modules=
build=
for arg in $(cat /proc/cmdline); do
  case $arg in
    ferry.repo=*) repo=${arg#ferry.repo=} ;;
    ferry.modules=*) modules=${arg#ferry.modules=} ;;
    ferry.build=1) build=1 ;;
  esac
done
mkdir -p "$repo"
# the shares are read-only for the guest's whole life: cache=loose lets it keep what it read (module
# loading otherwise asks the host for every stat and read, at emulated speed)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576,ro,cache=loose ferry-repo "$repo"
# node_modules linked from outside the repository (a git worktree): shared at its own path
if [ -n "$modules" ]; then
  mkdir -p "$modules" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576,ro,cache=loose ferry-modules "$modules"
fi
# the tree test/helpers/openzfs-vm.ts compiled for the guest
if [ -n "$build" ]; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576,ro,cache=loose ferry-build /ferry-out/build
fi

# V8's compile cache (Node 22+): every node process after the first starts from cached code
export NODE_COMPILE_CACHE=/var/cache/ferry-node-compile
status=1
# little dirty data and a throttled disk (test/helpers/openzfs-vm.ts) make a receive take seconds,
# long enough for the tests to interrupt it halfway
if modprobe zfs zfs_dirty_data_max=33554432 zfs_arc_max=1073741824; then
  echo "ferry-init: $(cat /sys/module/zfs/version 2>/dev/null || echo '?') loaded" > /ferry-out/log
  cd "$repo" && HOME=/root sh /ferry-out/command.sh >> /ferry-out/log 2>&1
  status=$?
else
  echo "ferry-init: modprobe zfs failed" > /ferry-out/log
fi
echo "$status" > /ferry-out/exit
sync
echo o > /proc/sysrq-trigger
sleep 60
