#!/bin/sh
# Registers the namespace and our search attributes (the API and worker also register them at start).
set -eu
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do sleep 2; done
temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" ||
  temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention 30d --address "$TEMPORAL_ADDRESS"
for sa in SchoolId:Keyword SyncTrigger:Keyword TestRun:Bool; do
  temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    --name "${sa%%:*}" --type "${sa##*:}" || true
done
