#!/usr/bin/env bash
# Build (once) a small Debian arm64 rootfs for the aarch64 VM tests.
#
#   scripts/mkrootfs-arm64.sh [DIR]
#
# DIR defaults to $SPROOT_ARM64_ROOTFS, else /var/cache/sproot/debian-bookworm-arm64.
# mmdebstrap --variant=extract only unpacks the packages (no maintainer
# scripts), so it needs neither binfmt nor qemu-user. A finished DIR (stamp
# file with the same package list) is reused. Needs root. Prints DIR.
set -euo pipefail

DIR=$(realpath -m -- "${1:-${SPROOT_ARM64_ROOTFS:-/var/cache/sproot/debian-bookworm-arm64}}")
INCLUDE=${SPROOT_ARM64_INCLUDE:-libc6,libc-bin,dash,bash,coreutils,grep,sed,findutils,util-linux,procps,strace,gdb}
MIRROR=${SPROOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
STAMP="$DIR/.sproot-rootfs-ok"
HEADER="suite=bookworm arch=arm64 include=$INCLUDE"

log() { printf 'mkrootfs-arm64: %s\n' "$*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "must run as root"; exit 1; }
[[ $DIR != / ]] || { log "refusing to use / as the rootfs"; exit 1; }
finished() { [[ -f $STAMP && $(head -n1 "$STAMP") == "$HEADER" ]]; }

mkdir -p -- "$(dirname -- "$DIR")"
exec 9>"$DIR.lock"
flock 9
if ! finished; then
    TMP=$(mktemp -d -- "$DIR.tmp.XXXXXX")
    trap 'rm -rf --one-file-system -- "$TMP"' EXIT
    chmod 0755 "$TMP"
    log "building $DIR from $MIRROR ($INCLUDE)"
    mmdebstrap --variant=extract --arch=arm64 --include="$INCLUDE" \
        bookworm "$TMP" "$MIRROR" >&2
    # dash's maintainer script would make /bin/sh; extract runs none.
    ln -sf dash "$TMP/bin/sh"
    printf '%s\n' "$HEADER" > "$TMP/.sproot-rootfs-ok"
    rm -rf --one-file-system -- "$DIR"
    mv -T -- "$TMP" "$DIR"
    trap - EXIT
fi
printf '%s\n' "$DIR"
