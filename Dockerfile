# The API, the workers and the migrate job share one image; the compose file picks the command.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# The worker's workflow bundle, built once at image build time (the worker would otherwise build it at start).
RUN node --import tsx worker/build-workflow-bundle.ts /app/workflow-bundle.js
ENV WORKFLOW_BUNDLE_PATH=/app/workflow-bundle.js
USER node
EXPOSE 3000
# node itself, not npm: signals reach it (compose also runs these under init: true).
CMD ["node", "--import", "tsx", "api/main.ts"]
