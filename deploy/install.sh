#!/usr/bin/env bash
# Builds familyconnect (release, Swift standard library linked in statically) and installs it as a
# systemd service: binary, schemas, unit, system user, folders, example configuration.
#
# Usage: deploy/install.sh [options]
#   --binary PATH        install this already-built binary instead of building
#   --package-path DIR   build the package in DIR (default: this checkout)
#   --scratch-path DIR   build directory (default: DIR/.build)
#   --destdir DIR        install under DIR instead of / (packaging, or a dry run): nothing is
#                        started, no user is created, nothing outside DIR is touched
#   --help
#
# The server needs only system libraries at run time: libpq5, libcurl4 (and what they pull in).
# Re-running upgrades the binary, schemas and unit; an existing configuration is never overwritten.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
package_path="$root"
scratch_path=""
binary=""
destdir=""

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --package-path) package_path="${2:?--package-path needs a folder}"; shift 2 ;;
        --scratch-path) scratch_path="${2:?--scratch-path needs a folder}"; shift 2 ;;
        --destdir) destdir="${2:?--destdir needs a folder}"; shift 2 ;;
        --help|-h) sed -n '2,15p' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (or with --destdir DIR to stage the files somewhere else)"
fi
destdir="${destdir%/}"

# 1. The binary.
if [ -z "$binary" ]; then
    command -v swift >/dev/null || die "swift is not on PATH (or pass --binary PATH)"
    say "building release binary in $package_path (static Swift standard library)"
    args=(build -c release --static-swift-stdlib --product familyconnect --package-path "$package_path")
    [ -n "$scratch_path" ] && args+=(--scratch-path "$scratch_path")
    swift "${args[@]}"
    binary="$(swift "${args[@]}" --show-bin-path)/familyconnect"
fi
[ -x "$binary" ] || die "no executable at $binary"
if ldd "$binary" 2>/dev/null | grep -q 'libswift\|libFoundation\|libdispatch'; then
    die "$binary links the Swift runtime dynamically; build with --static-swift-stdlib"
fi
for library in libpq.so libcurl.so; do
    ldd "$binary" | grep -q "$library" || die "$binary does not link $library: is it the familyconnect binary?"
done
if ldd "$binary" | grep -q 'not found'; then
    ldd "$binary" | grep 'not found' >&2
    die "missing shared libraries (on Debian: apt-get install libpq5 libcurl4)"
fi

# 2. Files.
say "installing under ${destdir:-/}"
install -D -m 0755 "$binary" "$destdir/usr/bin/familyconnect"
rm -rf "$destdir/usr/share/familyconnect/schemas.new"
mkdir -p "$destdir/usr/share/familyconnect"
cp -R "$root/schemas" "$destdir/usr/share/familyconnect/schemas.new"
find "$destdir/usr/share/familyconnect/schemas.new" -type d -exec chmod 0755 {} +
find "$destdir/usr/share/familyconnect/schemas.new" -type f -exec chmod 0644 {} +
rm -rf "$destdir/usr/share/familyconnect/schemas"
mv "$destdir/usr/share/familyconnect/schemas.new" "$destdir/usr/share/familyconnect/schemas"
install -D -m 0644 "$here/familyconnect.service" "$destdir/etc/systemd/system/familyconnect.service"
install -D -m 0644 "$here/systemd/familyconnect.sysusers.conf" "$destdir/usr/lib/sysusers.d/familyconnect.conf"
install -D -m 0644 "$here/systemd/familyconnect.tmpfiles.conf" "$destdir/usr/lib/tmpfiles.d/familyconnect.conf"
install -D -m 0644 "$here/familyconnect.conf.example" "$destdir/usr/share/doc/familyconnect/familyconnect.conf.example"
install -D -m 0644 "$here/README.md" "$destdir/usr/share/doc/familyconnect/README.md"

# 3. User and folders (sysusers.d and tmpfiles.d do it at boot too).
if [ -z "$destdir" ]; then
    if command -v systemd-sysusers >/dev/null; then
        systemd-sysusers /usr/lib/sysusers.d/familyconnect.conf
    elif ! getent passwd familyconnect >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/familyconnect --shell /usr/sbin/nologin familyconnect
    fi
    if command -v systemd-tmpfiles >/dev/null; then
        systemd-tmpfiles --create /usr/lib/tmpfiles.d/familyconnect.conf
    else
        install -d -m 0750 -o familyconnect -g familyconnect /var/lib/familyconnect
        install -d -m 2770 -o familyconnect -g familyconnect /var/lib/familyconnect/drop
        install -d -m 0700 -o familyconnect -g familyconnect /var/lib/familyconnect/staging
        install -d -m 0750 -o root -g familyconnect /etc/familyconnect
    fi
    owner=(-o familyconnect -g familyconnect)
else
    mkdir -p "$destdir/var/lib/familyconnect/staging" "$destdir/etc/familyconnect"
    install -d -m 2770 "$destdir/var/lib/familyconnect/drop"
    owner=()
fi
# One drop folder per drop-folder feed, writable by the group (partner transfer accounts).
for feed in "$destdir"/usr/share/familyconnect/schemas/feeds/*.feed; do
    folder="$(awk -F'=' '
        /^\[/ { section = $0 }
        section == "[source]" && $1 ~ /^[ \t]*type[ \t]*$/ { gsub(/[ \t]/, "", $2); type = $2 }
        section == "[source]" && $1 ~ /^[ \t]*folder[ \t]*$/ { gsub(/^[ \t]+|[ \t]+$/, "", $2); folder = $2 }
        END { if (type == "" || type == "drop-folder") print folder }' "$feed")"
    [ -n "$folder" ] || continue
    case "$folder" in /*|*..*) die "$feed: unsafe drop folder '$folder'" ;; esac
    install -d -m 2770 "${owner[@]}" "$destdir/var/lib/familyconnect/drop/$folder"
done

# 4. Configuration: installed once, never overwritten.
config="$destdir/etc/familyconnect/familyconnect.conf"
if [ ! -e "$config" ]; then
    install -m 0640 "$here/familyconnect.conf.example" "$config"
    [ -z "$destdir" ] && chgrp familyconnect "$config"
    say "wrote $config from the example: edit [database] conninfo before starting"
else
    say "kept the existing $config"
fi
if [ ! -e "$destdir/etc/familyconnect/pgpass" ]; then
    say "create $destdir/etc/familyconnect/pgpass (owner root, mode 0600) holding one line:"
    say "    HOST:PORT:DATABASE:USER:PASSWORD"
    say "  systemd hands it to the service as a credential (LoadCredential=); the service user cannot read the original"
fi

# 5. Check the unit (a staged install is checked with its ExecStart pointed at the staged binary)
#    and its hardening score; start nothing.
if command -v systemd-analyze >/dev/null; then
    check="$(mktemp -d)"
    sed "s|/usr/bin/familyconnect|$destdir/usr/bin/familyconnect|" "$destdir/etc/systemd/system/familyconnect.service" \
        > "$check/familyconnect.service"
    systemd-analyze verify "$check/familyconnect.service"
    score="$(systemd-analyze security --offline=yes --threshold=20 "$check/familyconnect.service" 2>&1 | tail -n 1)"
    rm -rf "$check"
    say "systemd-analyze verify: OK; security: ${score#→ }"
fi
if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

cat <<EOF
==> installed. Next:
    1. edit /etc/familyconnect/familyconnect.conf and write /etc/familyconnect/pgpass (0600)
    2. apply the database migrations as the database owner:
         PGPASSFILE=/etc/familyconnect/pgpass familyconnect migrate --database "…" --schemas /usr/share/familyconnect/schemas
    3. systemctl enable --now familyconnect
       journalctl -u familyconnect -f          curl -s http://127.0.0.1:9464/healthz
EOF
