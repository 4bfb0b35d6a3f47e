# Shared by deploy/dev/demo and deploy/dev/test: installs what is missing and runs a private
# PostgreSQL cluster under the checkout (.pg/), never touching a system service.
# shellcheck shell=bash

FC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FC_PG_PORT="${FC_PG_PORT:-54329}"
FC_PG_BASE="${FC_PG_BASE:-$FC_ROOT/.pg}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build, the tests and the demo need.
FC_PACKAGES=(pkg-config libpq-dev libcurl4-openssl-dev postgresql postgresql-contrib
    openssh-server openssh-client openssl ca-certificates python3 curl)

fc_install_packages() {
    local missing=()
    for package in "${FC_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
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
    if fc_as_pg_user "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "private PostgreSQL already running on 127.0.0.1:$FC_PG_PORT"
    else
        say "starting private PostgreSQL on 127.0.0.1:$FC_PG_PORT"
        # A disposable development cluster: durability settings off for speed, loopback only.
        fc_as_pg_user "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o \
            "-c port=$FC_PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null \
            || { tail -n 20 "$log" >&2; die "PostgreSQL did not start (log: $log)"; }
    fi
    export FC_ADMIN_DATABASE="host=127.0.0.1 port=$FC_PG_PORT user=postgres dbname=postgres"
}

fc_stop_cluster() {
    fc_as_pg_user "$(fc_pg_bin)/pg_ctl" -D "$FC_PG_BASE/data" -m fast stop >/dev/null 2>&1 || true
}
