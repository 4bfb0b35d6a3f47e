# Shared by deploy/dev/demo and deploy/dev/test: installs what is missing and runs a private
# PostgreSQL cluster under the checkout (.pg/), never touching a system service.
# shellcheck shell=bash

FC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FC_PG_PORT="${FC_PG_PORT:-54329}"
FC_PG_BASE="${FC_PG_BASE:-$FC_ROOT/.pg}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build, the tests and the demo need. pgaudit is built per server major version
# (postgresql-15-pgaudit for PostgreSQL 15): fc_install_packages adds the one matching the server
# it finds (or the one `postgresql` would install) as FC_PGAUDIT_PACKAGE.
FC_PACKAGES=(pkg-config libpq-dev libcurl4-openssl-dev postgresql postgresql-contrib
    openssh-server openssh-client openssl ca-certificates python3 curl)

# The major version of the newest installed server (the one fc_pg_bin runs), else the one the
# `postgresql` metapackage depends on; empty if neither is known.
fc_pg_major() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ]; then
        basename "$(dirname "$dir")"
        return 0
    fi
    apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | sort -V | tail -n 1
}

fc_missing_packages() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
    done
}

fc_install_packages() {
    local sudo="" updated="" major missing=()
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    mapfile -t missing < <(fc_missing_packages "${FC_PACKAGES[@]}")
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        $sudo apt-get update -qq && updated=1
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # Now the server is installed, its major version names the pgaudit build that fits it.
    major="$(fc_pg_major)"
    [ -n "$major" ] || die "cannot tell the PostgreSQL server version (is the postgresql package installed?)"
    FC_PGAUDIT_PACKAGE="postgresql-$major-pgaudit"
    FC_PACKAGES+=("$FC_PGAUDIT_PACKAGE")
    mapfile -t missing < <(fc_missing_packages "$FC_PGAUDIT_PACKAGE")
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    [ -n "$updated" ] || $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

fc_pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql (is the postgresql package installed?)"
    echo "$dir"
}

# initdb refuses to run as root, so as root the cluster belongs to the unprivileged `postgres` user.
fc_as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

fc_start_cluster() {
    local bin data log
    bin="$(fc_pg_bin)"
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$FC_PG_BASE"
        chown postgres: "$FC_PG_BASE"
        # The postgres user must be able to reach the checkout; if a parent folder is private
        # (e.g. under /root), keep the cluster in /var/tmp instead.
        if ! runuser -u postgres -- test -w "$FC_PG_BASE"; then
            FC_PG_BASE="/var/tmp/familyconnect-pg-$(echo "$FC_ROOT" | md5sum | cut -c1-8)"
            mkdir -p "$FC_PG_BASE" && chown postgres: "$FC_PG_BASE"
        fi
    else
        mkdir -p "$FC_PG_BASE"
    fi
    data="$FC_PG_BASE/data"
    log="$FC_PG_BASE/server.log"
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating a private PostgreSQL cluster in $data"
        fc_as_pg_user "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    [ -f "$(dirname "$bin")/lib/pgaudit.so" ] \
        || die "pgaudit is not installed for $bin (run fc_install_packages, or apt-get install postgresql-$(fc_pg_major)-pgaudit)"
    if fc_as_pg_user "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # A cluster started with other settings (before pgaudit was part of the set-up, or by an
        # older script) is restarted with these, so every dev cluster audits reads of personal data.
        local option stale=""
        for option in "${FC_PG_OPTIONS[@]}"; do
            grep -qF "\"$option\"" "$data/postmaster.opts" 2>/dev/null || stale="${stale:-$option}"
        done
        if [ -z "$stale" ]; then
            say "private PostgreSQL already running on 127.0.0.1:$FC_PG_PORT"
        else
            say "restarting private PostgreSQL with the current settings (pgaudit, JSON log; it lacked $stale)"
            fc_as_pg_user "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null \
                || die "PostgreSQL did not stop (log: $log)"
            fc_run_cluster "$bin" "$data" "$log"
        fi
    else
        fc_run_cluster "$bin" "$data" "$log"
    fi
    export FC_ADMIN_DATABASE="host=127.0.0.1 port=$FC_PG_PORT user=postgres dbname=postgres"
    # The tests run whole pipelines as this superuser, which owns every table: pgaudit logs the
    # owner's foreign-key checks too, one line per row inserted (86 MB a test run). Its sessions are
    # not audited in the dev cluster; every other login is (deploy/PRIVACY.md: never run the
    # daemon as the owner).
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 "$FC_ADMIN_DATABASE" -c "ALTER ROLE postgres SET pgaudit.role = ''" >/dev/null \
        || die "could not configure the private PostgreSQL (log: $data/log/)"
}

# The role pgaudit's object auditing watches (migration 0017 grants it SELECT on the tables that
# hold personal data): every statement reading one of them is logged, whoever runs it.
FC_PGAUDIT_ROLE=familyconnect_pgaudit

# A disposable development cluster: durability settings off for speed, loopback only; bulk-load
# settings PostgreSQL's guide "Populating a Database" recommends for production too (max_wal_size:
# with the default 1GB, 1M-record cycles logged "checkpoints are occurring too frequently";
# maintenance_work_mem: the index builds after a first fill sort in memory); pgaudit as
# deploy/PRIVACY.md sets it up for production: object auditing of the personal-data tables, one
# JSON line per event in $data/log/*.json (pg_current_logfile('jsonlog')), text beside it in *.log.
FC_PG_OPTIONS=("port=$FC_PG_PORT" listen_addresses=127.0.0.1 unix_socket_directories=
    fsync=off synchronous_commit=off full_page_writes=off max_connections=200 max_wal_size=4GB
    maintenance_work_mem=256MB
    shared_preload_libraries=pgaudit "pgaudit.role=$FC_PGAUDIT_ROLE" pgaudit.log=none
    pgaudit.log_parameter=off pgaudit.log_statement_once=on
    logging_collector=on log_destination=stderr,jsonlog log_directory=log log_timezone=UTC log_rotation_size=100MB)

fc_run_cluster() {
    local bin="$1" data="$2" log="$3" option arguments=""
    say "starting private PostgreSQL on 127.0.0.1:$FC_PG_PORT"
    # pg_ctl passes -o to the server through a shell: each value is quoted (they hold no quote).
    for option in "${FC_PG_OPTIONS[@]}"; do arguments+=" -c '$option'"; done
    fc_as_pg_user "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o "$arguments" >/dev/null \
        || { tail -n 20 "$log" >&2; die "PostgreSQL did not start (log: $log)"; }
}

fc_stop_cluster() {
    fc_as_pg_user "$(fc_pg_bin)/pg_ctl" -D "$FC_PG_BASE/data" -m fast stop >/dev/null 2>&1 || true
}
