# syntax=docker/dockerfile:1
#
# One image for the three Anvil services. compose.yaml picks the entry point:
#   node dist/app/main.js | node dist/gateway/main.js | node dist/model-proxy/main.js

# ---- build: compile TypeScript and native modules, then drop dev dependencies ----
FROM node:24-bookworm-slim AS build

# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY . .
# tsc -> dist/ (the build script also copies core/db/migrations/*.sql into dist/).
# The last line fails the build if better-sqlite3's native binding is missing (npm skips
# dependency install scripts that package.json's allowScripts does not allow).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"

# ---- runtime: only dist/, production node_modules and package.json ----
FROM node:24-bookworm-slim AS runtime

ENV NODE_ENV=production \
    ANVIL_DATA_DIR=/data

WORKDIR /app

# The shared data volume (SQLite in WAL mode, generated files). A fresh named volume
# mounted here takes this directory's ownership, so the services can write to it.
RUN mkdir -p /data && chown node:node /data

# Code stays root-owned and read-only to the service user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

USER node

EXPOSE 8080 8081 11435

# Healthchecks are per service in compose.yaml (each service serves /healthz on its own port).
CMD ["node", "dist/app/main.js"]
