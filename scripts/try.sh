#!/usr/bin/env bash
# Run a command on a real guest under sproot.
#
#   scripts/try.sh [ROOTFS] [COMMAND [ARG]...]
#
# Builds sproot (cargo build --release). ROOTFS is used if given (a directory);
# pass "" or "-" (or nothing) to use the default Debian bookworm rootfs, which is
# built once by scripts/mkrootfs-debian.sh (needs root; cached afterwards, path
# from $SPROOT_DEBIAN_ROOTFS or /var/cache/sproot/debian-bookworm).
# Then runs:  sproot -r ROOTFS -b /dev -b /proc -b /sys -w /root COMMAND...
# Default COMMAND shows the guest: its os-release, uname, id, cwd and /.
# Extra sproot options can be given in $SPROOT_OPTS (e.g. SPROOT_OPTS="-v 2").
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname -- "$here")

rootfs=
if (($#)); then
    if [[ $1 == "" || $1 == "-" ]]; then
        shift
    elif [[ -d $1 ]]; then
        rootfs=$1
        shift
    elif [[ $1 == */* && ! -e $1 ]]; then
        echo "try.sh: rootfs $1 does not exist" >&2
        exit 2
    fi
fi

if [[ -z $rootfs ]]; then
    rootfs=$("$here/mkrootfs-debian.sh")
fi

(cd -- "$repo" && cargo build --release >&2)

if (($# == 0)); then
    set -- /bin/sh -c '. /etc/os-release; echo "guest: $PRETTY_NAME"; uname -a; id; echo "cwd: $(pwd)"; ls /'
fi

# shellcheck disable=SC2086  # SPROOT_OPTS is a list of options
exec "$repo/target/release/sproot" ${SPROOT_OPTS:-} -r "$rootfs" -b /dev -b /proc -b /sys -w /root "$@"
