#!/bin/sh
# Registers the namespace and our search attributes once the server answers. Run by
# docker-compose.yml (admin-tools image) and by `npm run cluster`; the API and the worker register
# the search attributes again at start (temporal/connection.ts).
set -eu
: "${TEMPORAL_NAMESPACE:=default}" "${TEMPORAL_NAMESPACE_RETENTION:=30d}"
# The CLI can stumble on a host name that also resolves to IPv6 (Temporal's own compose files work
# around it the same way): use the host's IPv4 address when there is one.
host=${TEMPORAL_ADDRESS%:*}
ipv4=$(getent ahosts "$host" 2>/dev/null | awk '$1 ~ /^[0-9.]+$/ { print $1; exit }' || true)
[ -n "$ipv4" ] && TEMPORAL_ADDRESS="$ipv4:${TEMPORAL_ADDRESS##*:}"
t() { temporal "$@" --address "$TEMPORAL_ADDRESS"; }
until t operator cluster health >/dev/null 2>&1; do sleep 1; done
t operator namespace describe -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1 ||
  t operator namespace create -n "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_NAMESPACE_RETENTION"
# A namespace just created can be unknown to the server's caches for a few seconds: retry until each
# attribute is listed, and fail (so the job is restarted) if one never is.
for sa in SchoolId:Keyword SyncTrigger:Keyword TestRun:Bool SyncStatus:Keyword; do
  name=${sa%%:*}
  tries=0
  until t operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" | grep -qw "$name"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 60 ]; then
      t operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "${sa##*:}"
      exit 1
    fi
    t operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "${sa##*:}" \
      >/dev/null 2>&1 || sleep 1
  done
done
echo "Namespace $TEMPORAL_NAMESPACE and its search attributes are registered"
