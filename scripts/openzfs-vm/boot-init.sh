#!/bin/sh
# PID 1 of the OpenZFS test VM, baked into the image by build.sh as /sbin/ferry-init: mounts the
# exchange folder the host shares (9p tag ferry-out) and runs the guest-init.sh the host put there,
# so what the guest does can change without rebuilding the image.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
modprobe 9pnet_virtio
modprobe 9p
mkdir -p /ferry-out
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576 ferry-out /ferry-out && [ -f /ferry-out/guest-init.sh ]; then
  exec /bin/sh /ferry-out/guest-init.sh
fi
echo "ferry-init: no /ferry-out/guest-init.sh shared by the host" >&2
echo o > /proc/sysrq-trigger
sleep 60
