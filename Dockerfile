# syntax=docker/dockerfile:1
# One image for the five services: docker compose runs it with SERVICE=<name>.

# --- build: install everything, compile every package to dist/ ---------------
FROM node:20-bookworm-slim AS build
RUN npm install -g pnpm@10.34.9
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm build \
 # keep production dependencies only
 && find . -name node_modules -type d -prune -exec rm -rf {} + \
 && pnpm install --frozen-lockfile --prod

# --- run: the compiled services, as a non-root user ---------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
# OpenTelemetry's loader hook must be registered before the service's modules load.
CMD ["sh", "-c", "cd services/${SERVICE:?set SERVICE to a folder of services/ (a name of packages/system)} && exec node --import @orderflow/telemetry/register dist/main.bundle.js"]
