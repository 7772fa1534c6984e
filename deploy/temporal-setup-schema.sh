#!/bin/sh
# Creates Temporal's two databases and brings both schemas up to date with temporal-sql-tool, which
# embeds the schemas (idempotent: safe on every start). Run by docker-compose.yml (admin-tools image)
# and by `npm run cluster`. Its environment has the names the server's configuration uses:
# POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, POSTGRES_PWD, DBNAME, VISIBILITY_DBNAME.
set -eu
: "${DB_PORT:=5432}" "${POSTGRES_PWD:=}" "${DBNAME:=temporal}" "${VISIBILITY_DBNAME:=temporal_visibility}"
tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"
}
# create-database and setup-schema fail when that step was done before; update-schema then fails
# loudly on anything real (server unreachable, wrong password, a broken schema).
for db in "$DBNAME" "$VISIBILITY_DBNAME"; do
  tool --db "$db" create-database 2>/dev/null || true
done
tool --db "$DBNAME" setup-schema -v 0.0 2>/dev/null || true
tool --db "$DBNAME" update-schema -s postgresql/v12/temporal
tool --db "$VISIBILITY_DBNAME" setup-schema -v 0.0 2>/dev/null || true
tool --db "$VISIBILITY_DBNAME" update-schema -s postgresql/v12/visibility
echo "Temporal schemas are up to date in $DBNAME and $VISIBILITY_DBNAME"
