#!/usr/bin/env bash
# A throw-away PostgreSQL for the tests, sourced by scripts/test.sh:
#   source scripts/postgres.sh; start_throwaway_postgres   (sets a trap that stops it)
# Installs Debian's postgresql with apt-get when initdb is missing (CI is root on
# a fresh machine). PostgreSQL refuses to run as root, so as root the server runs
# as a dedicated system user (senpai-pg). The cluster lives in a temp directory,
# listens on a private Unix socket only (no TCP port), and is stopped and removed
# on exit. Exports SENPAI_TEST_DATABASE_URL (the superuser's URL: tests create a
# fresh database per test from it).

PG_USER=senpai-pg

_pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir)
    if [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; fi
  done | sort -V | tail -n 1
}

_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

start_throwaway_postgres() {
  local bindir
  bindir=$(_pg_bindir)
  if [ -z "$bindir" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "postgres: initdb not found and not root: install Debian's postgresql" >&2
      return 1
    fi
    echo "postgres: installing Debian's postgresql…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(_pg_bindir)
  fi
  if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
  PG_TMP=$(mktemp -d /tmp/senpai-pg.XXXXXX)
  chmod 700 "$PG_TMP"
  if [ "$(id -u)" -eq 0 ]; then chown "$PG_USER" "$PG_TMP"; fi
  trap stop_throwaway_postgres EXIT
  _pg_as_owner "$bindir/initdb" -D "$PG_TMP/data" -U senpai --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log" >&2; return 1; }
  PG_BINDIR=$bindir
  _pg_as_owner "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 start \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_TMP' -c fsync=off \
        -c max_connections=200 -c shared_buffers=64MB" >/dev/null \
    || { cat "$PG_TMP/server.log" >&2; return 1; }
  export SENPAI_TEST_DATABASE_URL="postgresql://senpai@/postgres?host=$PG_TMP"
  echo "postgres: throw-away server running (socket in $PG_TMP)"
}

stop_throwaway_postgres() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
