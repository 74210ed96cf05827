# groupsync as a container image: `docker build -t groupsync .` (or `docker compose build`).
# The service runs from an esbuild bundle of the TypeScript sources made in the build stage
# (bin/bundle.mjs; Node 24 could run the sources, but every start and every sync's worker would
# first spend ~1.5 s loading them); the image holds the runtime dependencies only (`npm ci --omit=dev`), runs as the image's
# unprivileged `node` user, and keeps its data folder (the embedded store, when DATABASE_URL is
# not set) on the /data volume.

# Build stage: the runtime dependencies from the lock file, and the esbuild bundle of the
# service, its sync worker and the CLI (bin/bundle.mjs).
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
# The service and the CLI rebuild the bundle here when a source changed, so the user owns it.
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
# `npm start`: the bundled service (bin/start.mjs).
CMD ["node", "--max-semi-space-size=16", "--expose-gc", "bin/start.mjs"]
