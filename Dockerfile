# ferry's image (docs/deploy.md). Three stages: `build` compiles ferry (esbuild, a dev
# dependency); `deps` keeps the production packages only (no tsx, esbuild or TypeScript); the
# last holds both and nothing else. One image runs every role, chosen by the command:
#   serve | worker | agent   (docker-compose.yml)
# Build arg AGENT_TOOLS=true adds zfsutils-linux and btrfs-progs, for agents serving zfs: or btrfs:
# endpoints (they also need root and the host's devices: docs/deploy.md).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY machines ./machines
COPY proto ./proto
COPY scripts/build.mjs scripts/build-ui.mjs scripts/bundle-cli.mjs scripts/bundle-start.mjs ./scripts/
# transpiled by esbuild (--transpile-only: about a second, against tsc's 20 CPU-seconds): the types
# are the repository's to check (npm test), and what runs is the bundle either way
RUN node scripts/build.mjs --transpile-only --out /src/dist

# the build stage's packages less the dev ones: the registry's packages are fetched and unpacked once
FROM build AS deps
# tsx is a dependency for `npx ferry` in a checkout (bin/ferry.mjs); the compiled image never loads it.
# pino ships its own test suite (about 400 MB of binaries): not needed to log. TypeScript comes in as
# valibot's optional peer (through @bull-board/api), for types only: not needed at run time. prune
# leaves the scope folders of what it removed (@esbuild) empty.
RUN npm pkg delete dependencies.tsx \
  && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
  && rm -rf node_modules/pino/test node_modules/typescript \
  && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete

FROM ${NODE_IMAGE}
ARG AGENT_TOOLS=false
# zfsutils-linux is in Debian's contrib; --no-install-recommends keeps zfs-dkms (a kernel module
# build) out: the module is the host's.
RUN if [ "$AGENT_TOOLS" = true ]; then \
      sed -i 's/^Components: main$/Components: main contrib/' /etc/apt/sources.list.d/debian.sources \
      && apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zfsutils-linux btrfs-progs pv \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/ ./
# /data/main and /data/spare: the roots docker-compose.yml's agents serve; a new named volume starts as
# a copy of the image's directory, so it is the node user's too
RUN chmod 755 /app/bin/ferry.mjs && ln -s /app/bin/ferry.mjs /usr/local/bin/ferry \
  && mkdir -p /data/main /data/spare && chown -R node:node /data
ENV NODE_ENV=production FERRY_LOG_LEVEL=info
# The node image's unprivileged user; agents serving zfs or btrfs run as root (docker-compose.yml).
USER node
# One probe for every role: gRPC health of FERRY_HEALTH_GRPC (serve --grpc, agents) when set, else a
# PING of REDIS_URL's Redis (workers). `ferry health --help`.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["ferry", "health", "--timeout-ms", "4000"]
ENTRYPOINT ["ferry"]
CMD ["--help"]
