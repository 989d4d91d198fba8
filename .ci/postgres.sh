#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests, from Debian's packages:
#
#     eval "$(bash .ci/postgres.sh)"
#
# prints `export DISVAL_TEST_POSTGRES_URL=...` (a superuser on a unix socket under /tmp, so the
# tests may create a database per test). Installs the `postgresql` package first when no server
# binaries (/usr/lib/postgresql/*/bin/initdb) are present. It never fails its caller: on any
# problem it prints a comment line saying why and exits 0, and the PostgreSQL tests then skip.
# Everything else it runs writes to stderr, so that stdout stays fit for `eval`.
set -u

give_up() {
  echo "# .ci/postgres.sh: $*; the PostgreSQL store tests will skip"
  exit 0
}

server_bin() {
  local initdb
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && dirname "$initdb"
}

as_server_user() {
  # The server refuses to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bin=$(server_bin)
if [ -z "$bin" ]; then
  [ "$(id -u)" = 0 ] || give_up "no PostgreSQL server binaries, and not root to install them"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 \
    || echo "# .ci/postgres.sh: apt-get install postgresql reported a failure" >&2
  bin=$(server_bin) || true
  [ -n "$bin" ] || give_up "apt-get could not install postgresql"
fi

root=$(mktemp -d /tmp/disval-ci-pg.XXXXXX) || give_up "cannot make a directory under /tmp"
if [ "$(id -u)" = 0 ]; then
  command -v runuser >/dev/null || give_up "runuser is missing, so the server cannot run as another user"
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres >&2 || give_up "no postgres user"
  chown postgres: "$root" || give_up "cannot hand $root to the postgres user"
fi

as_server_user "$bin/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 --no-sync >&2 \
  || give_up "initdb failed"
as_server_user "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 \
  -o "-k $root -c listen_addresses='' -c fsync=off" start >&2 \
  || give_up "the server did not start (log: $root/server.log)"
as_server_user "$bin/createdb" -h "$root" -U postgres disval_test >&2 \
  || give_up "createdb failed"

echo "export DISVAL_TEST_POSTGRES_URL='postgresql:///disval_test?host=$root&user=postgres'"
