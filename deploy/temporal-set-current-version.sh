#!/bin/sh
# Makes Worker Deployment Version WORKER_DEPLOYMENT_NAME / WORKER_BUILD_ID current: new runs start
# on it, runs already started stay PINNED to the version they started on. Run by
# docker-compose.yml (admin-tools image) and by `npm run cluster`; by hand for a deploy.
set -eu
: "${TEMPORAL_NAMESPACE:=default}"
# Temporal learns of a version from its workers' polls: retry for a minute until they have polled.
tries=0
until temporal worker deployment set-current-version --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
  --deployment-name "$WORKER_DEPLOYMENT_NAME" --build-id "$WORKER_BUILD_ID" --yes >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    temporal worker deployment set-current-version --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
      --deployment-name "$WORKER_DEPLOYMENT_NAME" --build-id "$WORKER_BUILD_ID" --yes
    exit 1
  fi
  sleep 1
done
echo "Worker Deployment $WORKER_DEPLOYMENT_NAME: build $WORKER_BUILD_ID is current"
