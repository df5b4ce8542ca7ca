# Two stages: the first compiles ferry (scripts/build.mjs needs TypeScript, a dev dependency); the
# second holds the compiled tree and the production packages only, so a container starts without
# tsx (bench/README.md, startup part).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY machines ./machines
COPY proto ./proto
COPY scripts/build.mjs scripts/build-ui.mjs ./scripts/
RUN node scripts/build.mjs --out /src/dist

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /src/dist/ ./
ENTRYPOINT ["node", "bin/ferry.mjs"]
CMD ["--help"]
