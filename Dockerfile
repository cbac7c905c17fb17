# syntax=docker/dockerfile:1
# One image for the three apps and fogctl. Pick the app with the command:
#   docker run velour-fog node dist/apps/controller/main.js --help
#   docker run velour-fog node dist/apps/storage/main.js --help
#   docker run velour-fog node dist/apps/frontend/main.js --help
# Build from the repository root: docker build -t velour-fog:0.1.0 .
# Every app needs the cluster secret at run time (--cluster-secret-file or FOG_CLUSTER_SECRET); the
# image holds none (.dockerignore keeps the kit's secret files out of the build context).

ARG NODE_IMAGE=node:20.20-bookworm-slim

# ---- build: every dependency, then the bundles (dist/apps/*, dist/tools/fogctl) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV NX_DAEMON=false CI=true FORCE_COLOR=0
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx nx run-many -t build --projects=controller,frontend,storage,fogctl --output-style=static

# ---- runtime dependencies only (the bundles keep node_modules external) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime: no compiler, no dev dependencies, not root ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist/apps ./dist/apps
COPY --from=build /src/dist/tools/fogctl ./dist/tools/fogctl
# /data holds the controller's state file or a storage node's log and snapshots: mount a volume.
RUN mkdir /data && chown 1000:1000 /data
# The base image's "node" user (uid 1000); numeric so that runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/data"]
# controller; storage client and internal; frontend client and internal (the ports deploy/ uses)
EXPOSE 7000 7100 7200 8000 8100
CMD ["node", "dist/apps/controller/main.js", "--help"]
