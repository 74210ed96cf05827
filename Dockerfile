# groupsync as a container image: `docker build -t groupsync .` (or `docker compose build`).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile step;
# the image holds the runtime dependencies only (`npm ci --omit=dev`), runs as the image's
# unprivileged `node` user, and keeps its data folder (the embedded store, when DATABASE_URL is
# not set) on the /data volume.

# Build stage: the runtime dependencies from the lock file, and the CLI's esbuild bundle.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY bin ./bin
RUN node bin/bundle.mjs

# Runtime stage.
FROM node:24-slim
ENV NODE_ENV=production GROUPSYNC_DATA_DIR=/data PORT=3978
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
# The CLI rebuilds its bundle here when a source changed, so the user owns it.
COPY --from=build --chown=node:node /app/dist ./dist
COPY package.json package-lock.json ./
COPY src ./src
COPY bin ./bin
COPY cards ./cards
COPY migrations ./migrations
COPY sample ./sample
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM (a clean stop); compose adds an init to reap children.
CMD ["node", "--max-semi-space-size=16", "src/main.ts"]
