#!/usr/bin/env bash
# Build (once) a Debian bookworm rootfs for sproot's real-world tests.
#
#   scripts/mkrootfs-debian.sh [DIR]
#
# DIR defaults to $SPROOT_DEBIAN_ROOTFS, else /var/cache/sproot/debian-bookworm.
# The rootfs is made by mmdebstrap (--variant=minbase) into a temporary directory
# next to DIR and renamed into place only when complete; DIR/.sproot-rootfs-ok
# marks a finished build. A finished DIR built with the same package list is
# reused as is. Needs root. Prints the rootfs path on stdout.
#
# Environment:
#   SPROOT_DEBIAN_MIRROR   mirror URL (default: the host's apt Debian mirror,
#                          else http://deb.debian.org/debian)
#   SPROOT_DEBIAN_SUITE    suite (default: bookworm)
#   SPROOT_DEBIAN_INCLUDE  comma-separated packages (default: see below)
set -euo pipefail

log() { printf 'mkrootfs-debian: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

DIR=${1:-${SPROOT_DEBIAN_ROOTFS:-/var/cache/sproot/debian-bookworm}}
SUITE=${SPROOT_DEBIAN_SUITE:-bookworm}
INCLUDE=${SPROOT_DEBIAN_INCLUDE:-nodejs,npm,python3,python3-pip,gcc,libc6-dev,git,ca-certificates,gdb,strace}
STAMP_NAME=.sproot-rootfs-ok

[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap needs root to build a rootfs); try: sudo $0 $*"
[[ -n $DIR && $DIR != / ]] || die "refusing to use '$DIR' as the rootfs directory"

# Absolute path without requiring DIR to exist.
DIR=$(realpath -m -- "$DIR")
PARENT=$(dirname -- "$DIR")
BASE=$(basename -- "$DIR")
STAMP_HEADER="suite=$SUITE include=$INCLUDE"

is_finished() {
    [[ -f $DIR/$STAMP_NAME ]] && [[ $(head -n1 "$DIR/$STAMP_NAME") == "$STAMP_HEADER" ]]
}

if is_finished; then
    log "cached rootfs at $DIR"
    printf '%s\n' "$DIR"
    exit 0
fi

host_mirror() {
    # First Debian (non-security) mirror in the host's apt sources, one-line or deb822 format.
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    grep -hoE '(https?|ftp)://[^ ]+/debian/?( |$)' "${files[@]}" 2>/dev/null \
        | grep -v -- '-security' | head -n1 | tr -d ' ' | sed 's:/$::'
}

MIRROR=${SPROOT_DEBIAN_MIRROR:-$(host_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "installing mmdebstrap with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mmdebstrap >&2 \
        || { DEBIAN_FRONTEND=noninteractive apt-get update >&2 &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mmdebstrap >&2; } \
        || die "could not install mmdebstrap"
fi

mkdir -p -- "$PARENT"

# Serialise concurrent builds of the same DIR.
exec 9>"$PARENT/.$BASE.lock"
flock 9
if is_finished; then   # someone else finished it while we waited
    log "cached rootfs at $DIR"
    printf '%s\n' "$DIR"
    exit 0
fi

# A killed mmdebstrap leaves /proc, /sys, /dev/pts, ... mounted inside its
# target: unmount everything below a directory (deepest first) before removing it.
unmount_below() {
    local d m
    d=$(realpath -m -- "$1")
    # /proc/mounts escapes spaces etc. as octal; our temp paths have none.
    awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
        while IFS= read -r m; do umount -l -- "$m" || true; done
}
remove_tree() {
    [[ -e $1 ]] || return 0
    unmount_below "$1"
    rm -rf --one-file-system -- "$1"
}

# Leftovers of interrupted builds (we hold the lock, so nobody else is using them).
for leftover in "$PARENT/.$BASE.tmp."* "$PARENT/.$BASE.old."*; do
    remove_tree "$leftover"
done

TMP=$(mktemp -d -- "$PARENT/.$BASE.tmp.XXXXXX")
chmod 0755 "$TMP"   # mktemp makes it 0700; apt's _apt user must be able to enter it
cleanup() { remove_tree "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building $SUITE rootfs in $DIR from $MIRROR (packages: $INCLUDE)"
start=$(date +%s)
mmdebstrap --variant=minbase --include="$INCLUDE" --mode=root \
    "$SUITE" "$TMP" "$MIRROR" >&2

{
    printf '%s\n' "$STAMP_HEADER"
    printf 'mirror=%s built=%s\n' "$MIRROR" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    chroot "$TMP" dpkg-query -W -f '${Package} ${Version}\n'
} > "$TMP/$STAMP_NAME.partial"
mv -- "$TMP/$STAMP_NAME.partial" "$TMP/$STAMP_NAME"

# Swap into place: an unfinished/outdated DIR is moved aside first, then the
# complete tree is renamed in one step.
if [[ -e $DIR || -L $DIR ]]; then
    OLD="$PARENT/.$BASE.old.$$"
    mv -T -- "$DIR" "$OLD"
    mv -T -- "$TMP" "$DIR"
    remove_tree "$OLD"
else
    mv -T -- "$TMP" "$DIR"
fi
trap - EXIT

log "done in $(( $(date +%s) - start ))s, size $(du -sh --one-file-system -- "$DIR" | cut -f1)"
printf '%s\n' "$DIR"
