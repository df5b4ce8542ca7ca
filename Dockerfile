FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY machines ./machines
COPY proto ./proto
ENTRYPOINT ["node", "bin/ferry.mjs"]
CMD ["--help"]
