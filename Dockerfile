# The scaler runtime image that ScalerHub deploys in the hub (`image` in the hub's stack config).
# Build: docker build -t <registry>/fleetscale-scaler:<version> .
# (test/image/build.sh builds this file unchanged with podman, for the tests and the local fleet.)
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependency install scripts stay off, as package.json's allowScripts says.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY engine engine
COPY schema schema
COPY members members
COPY reconcile reconcile
COPY runtime runtime
COPY components components
# Only the runtime's entry point and what it imports are compiled; the Pulumi SDKs are
# development and peer dependencies, so the prune drops them.
RUN npx tsc -p tsconfig.image.json && npm prune --omit=dev --omit=peer --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# Matches the Deployment's securityContext: non-root, read-only root filesystem.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["node", "dist/runtime/main.js"]
