# syntax=docker/dockerfile:1
# Stages:
#   build        compiles the TypeScript with every dependency installed (npm ci from the lock file)
#   prod-deps    the same node_modules, pruned to production dependencies
#   demo-tunnel  the tunnel client alone (the mcp-tunnel package of `npm run pack:client`, one bundled
#                file) next to @modelcontextprotocol/server-everything: the demo tunnel of
#                docker-compose.yml (`--target demo-tunnel`)
#   gateway      the gateway runtime: compiled JavaScript and production dependencies only. Last, so
#                that a plain `docker build .` builds it.
#
# Node 22 in every stage: some of the gateway's dependencies ask for it (package.json "engines").

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
# npm run build runs scripts/build-if-stale.mjs (the gateway, then the admin console from console/ into
# dist/console-ui); pack:client runs scripts/pack-client.mjs.
COPY scripts ./scripts
COPY src ./src
COPY console ./console
RUN npm run build
# The client package, from the dist/ just built (esbuild, a devDependency, bundles it): .packs/mcp-tunnel-<version>.tgz
RUN npm run --silent pack:client

# Pruned from the tree npm ci installed, so the versions are the lock file's and nothing is downloaded twice.
FROM build AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:22-slim AS demo-tunnel
ENV NODE_ENV=production
WORKDIR /app
# server-everything is only a devDependency (the tests use it): install it on its own, globally (its bin,
# mcp-server-everything, lands on PATH), at the version package-lock.json pins. Before the client, so
# that this layer stays cached when only the code changes.
COPY package-lock.json /tmp/package-lock.json
RUN version=$(node -p "require('/tmp/package-lock.json').packages['node_modules/@modelcontextprotocol/server-everything'].version") \
    && npm install --global --no-audit --no-fund "@modelcontextprotocol/server-everything@${version}" \
    && npm cache clean --force \
    && rm /tmp/package-lock.json
# The tunnel client as its users install it: the packed tarball, no dependencies (bin mcp-tunnel on PATH).
COPY --from=build /app/.packs/ /tmp/packs/
RUN npm install --global --no-audit --no-fund /tmp/packs/mcp-tunnel-*.tgz \
    && npm cache clean --force \
    && rm -r /tmp/packs
USER node
# The client reads REVERSE_PROXY_GATEWAY and REVERSE_PROXY_TOKEN from the environment; the local server
# it starts does not inherit them.
ENTRYPOINT ["mcp-tunnel"]
CMD ["--local-stdio", "mcp-server-everything", "--name", "everything"]

FROM node:22-slim AS gateway
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# Liveness (/health), not readiness: an orchestrator that acts on this status (Swarm replaces unhealthy
# containers) must not restart a replica that is only draining. Readiness (/ready) is for whatever routes
# traffic: the compose healthcheck, a Kubernetes readinessProbe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
