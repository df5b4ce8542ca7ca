#!/usr/bin/env bash
# Installs what ferry needs, so the README's quick start works on a fresh Debian machine:
# system packages (redis-server; with --test also redis-sentinel, zfs-fuse, btrfs-progs, pv, Swift, qemu, debootstrap, strace, prometheus, Python's grpc, zsh, chromium for the live view's browser test, docker.io and docker-compose),
# and node modules.
# Where it cannot install (not root, not Debian), it prints the exact command to run and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A provides=([redis-server]=redis-server [redis-sentinel]=redis-sentinel [zfs-fuse]=zfs-fuse [btrfs-progs]=mkfs.btrfs [pv]=pv
  [swift]=swift-config [swift-proxy]=swift-proxy-server [swift-object]=swift-object-server
  [swift-container]=swift-container-server [swift-account]=swift-account-server [memcached]=memcached
  [qemu-system-x86]=qemu-system-x86_64 [debootstrap]=debootstrap [strace]=strace [prometheus]=promtool [zsh]=zsh
  [python3-grpcio]=py:grpc [python3-grpc-tools]=py:grpc_tools
  [chromium]=chromium [docker.io]=dockerd [docker-compose]=docker-compose)
wanted=(redis-server)
# the tests also need real zfs (zfs-fuse), btrfs, an S3-compatible server (Swift with s3api), and
# for kernel OpenZFS a VM (qemu) whose image debootstrap builds; strace kills a dir receive at each
# of its syscalls (test/dir-crash.test.ts); prometheus's promtool checks /metrics
# (test/metrics.test.ts); protoc and Python's grpc are the API's other client
# (test/proto-compat.test.ts); zsh checks `ferry completion zsh` (test/cli.test.ts); chromium shows
# the live view (test/ui-browser.test.ts); docker.io and
# docker-compose run the compose stack offline (test/deploy.test.ts); redis-sentinel for the failover
# tests (test/redis-ha.test.ts; they run `redis-server --sentinel`, the same binary)
[[ ${1:-} == --test ]] && wanted+=(redis-sentinel zfs-fuse btrfs-progs pv swift swift-proxy swift-object swift-container swift-account memcached qemu-system-x86 debootstrap strace prometheus python3-grpcio python3-grpc-tools zsh chromium docker.io docker-compose)

# a program on PATH, or py:MODULE, a module of Debian's /usr/bin/python3
present() {
  if [[ $1 == py:* ]]; then /usr/bin/python3 -c "import ${1#py:}" >/dev/null 2>&1
  else PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; fi
}

missing=()
for pkg in "${wanted[@]}"; do
  present "${provides[$pkg]}" || missing+=("$pkg")
done

# The OpenZFS VM's image (scripts/openzfs-vm/build.sh, once per machine; docs/zfs-driver.md)
# starts building now, in the background, so that it builds while the rest installs and the host's
# tests run; the suite's VM runner waits for it (the script's lock) or builds it itself if this
# build failed. Only as root (debootstrap, chroot), and when debootstrap is there or can be installed.
# built by this recipe, or being built (a build, such as .ci/run's, holds its lock)
vm_image_coming() { bash scripts/openzfs-vm/build.sh --check; }
start_vm_image_build() {
  local log=/var/tmp/ferry-openzfs-vm-build.log
  echo "setup: building the OpenZFS test VM's image in the background (log: $log)" >&2
  setsid nohup bash scripts/openzfs-vm/build.sh > "$log" 2>&1 < /dev/null &
}

if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [[ ${1:-} == --test ]] && ! vm_image_coming; then
      present debootstrap || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
      start_vm_image_build
      vm_build_started=1
    fi
    # without the packages' Recommends: 175 packages instead of 504 for the test set (GUI, codec,
    # printing and perl libraries nothing here uses); on a fresh machine, beside the image build,
    # their install took 92 s instead of 257
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  else
    echo "setup: missing ${missing[*]} and this is not a Debian/Ubuntu system: install them with your package manager (or set REDIS_URL to a running Redis for redis-server)" >&2
    exit 1
  fi
fi

# nothing was missing, but the image is: build it from now on
if [[ ${1:-} == --test && -z ${vm_build_started:-} && $(id -u) == 0 ]] && ! vm_image_coming && present debootstrap; then
  start_vm_image_build
fi

# node modules: install when absent or older than the lock file
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  # the tests build their own dist/ (scripts/run-tests.mjs): not on install as well
  if [[ ${1:-} == --test ]]; then export FERRY_BUILD_ON_INSTALL=0; fi
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

