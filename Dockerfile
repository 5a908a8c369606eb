# syntax=docker/dockerfile:1
# One Dockerfile for the three apps; pick one with the APP build argument:
#   docker build --build-arg APP=upload-gateway -t upload-platform/upload-gateway .
#   (APP: upload-gateway | storage-events | job-processor; the APP environment
#   variable chooses again at run time, so one image can also run any of them)
# Migrations: docker run --rm <image> npm run migrate
# Node 24: the active LTS (20 reached its end of life in April 2026), the same major that package.json's `node`
# devDependency pins for npm scripts on machines whose system Node is older. Bump both together.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, compile TypeScript to dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script we allow is the `node` package's (a Node 24 binary for npm scripts on
# hosts with an older system Node); the image has Node 24 already.
RUN npm ci --no-audit --no-fund --ignore-scripts && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
# the /demo page's Uppy bundle is built from node_modules by this script (part of npm run build)
COPY scripts/build-demo.mjs ./scripts/
RUN npm run build

# --- production dependencies only
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force

# --- runtime
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    npm_config_update_notifier=false
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
ARG APP=upload-gateway
ENV APP=${APP}
# the image's unprivileged user (uid 1000); the app files stay owned by root, read-only for it
USER node
EXPOSE 3000 3001 3002
# tini forwards SIGTERM to node and reaps zombies; node then shuts down gracefully
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "exec node dist/apps/${APP}/src/main.js"]
