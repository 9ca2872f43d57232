#!/usr/bin/env bash
# PostgreSQL for the server's test suite, on Debian, as root.
#   .ci/postgres.sh install   apt-get install postgresql (if missing), start the cluster, create the
#                             test role and database; prints the URL the tests use.
#   .ci/postgres.sh start     start the cluster (already installed) and create the role/database.
#   .ci/postgres.sh url       print the URL.
# The tests (testing/db.ts) read MPOTA_TEST_PG, else try this well-known URL, else start a
# private server with initdb; with CI=true a missing PostgreSQL fails the suite.
set -euo pipefail

PG_USER=mpota
PG_PASSWORD=mpota
PG_DB=mpota_test
PG_PORT="${MPOTA_PG_PORT:-5432}"
URL="postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/${PG_DB}"

install_packages() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q postgresql >/dev/null
  fi
}

start_cluster() {
  local version
  version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    pg_createcluster "$version" main --port "$PG_PORT" >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 1 50); do
    if runuser -u postgres -- psql -p "$PG_PORT" -qAtc "select 1" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  runuser -u postgres -- psql -p "$PG_PORT" -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_USER}') THEN
    CREATE ROLE ${PG_USER} LOGIN PASSWORD '${PG_PASSWORD}' CREATEDB;
  END IF;
END \$\$;
SQL
  if ! runuser -u postgres -- psql -p "$PG_PORT" -qAtc "select 1 from pg_database where datname='${PG_DB}'" | grep -q 1; then
    runuser -u postgres -- createdb -p "$PG_PORT" -O "$PG_USER" "$PG_DB"
  fi
}

case "${1:-install}" in
  install) install_packages; start_cluster; echo "$URL" ;;
  start) start_cluster; echo "$URL" ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 install|start|url" >&2; exit 2 ;;
esac
