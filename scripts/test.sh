#!/usr/bin/env bash
# The project's test command: release build, then every test (unit tests, the
# tiny-rootfs integration tests and, when $SPROOT_DEBIAN_ROOTFS names a rootfs
# made by scripts/mkrootfs-debian.sh, the Debian real-world suite in tests/debian.rs).
#
#   scripts/test.sh [extra cargo test args...]     e.g. scripts/test.sh --test debian
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
cd -- "$(dirname -- "$here")"

default_rootfs=/var/cache/sproot/debian-bookworm
if [[ -z ${SPROOT_DEBIAN_ROOTFS:-} && $(id -u) -eq 0 ]]; then
    # As root, build (once; cached) and use the default Debian rootfs so that
    # this one command runs the whole suite.
    SPROOT_DEBIAN_ROOTFS=$(scripts/mkrootfs-debian.sh "$default_rootfs")
    export SPROOT_DEBIAN_ROOTFS
fi
if [[ -z ${SPROOT_DEBIAN_ROOTFS:-} ]]; then
    echo "test.sh: SPROOT_DEBIAN_ROOTFS is not set: tests/debian.rs will skip (build one with" \
         "'sudo scripts/mkrootfs-debian.sh' and export SPROOT_DEBIAN_ROOTFS=<its path>)" >&2
fi
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
# tests/android.rs runs the static musl build, the one that runs on Android.
musl=$(uname -m)-unknown-linux-musl
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$musl"; then
    rustup target add "$musl" || echo "test.sh: no $musl target: tests/android.rs will test the glibc build" >&2
fi

t0=$SECONDS
cargo build --release
echo "test.sh: cargo build --release took $((SECONDS - t0))s" >&2

# The translation core (core/) must build without the standard library:
# it is to run inside guest processes. A bare-metal target has no std.
bare=$(uname -m)-unknown-none
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$bare"; then
    rustup target add "$bare"
fi
cargo build --release -p sproot-core --target "$bare"
echo "test.sh: the core builds no_std + alloc ($bare)" >&2

t1=$SECONDS
status=0
cargo test --release --no-fail-fast "$@" || status=$?
echo "test.sh: cargo test --release took $((SECONDS - t1))s (exit $status)" >&2

# The default engine (auto) is the in-process one: the whole suite again
# with the ptrace engine (SPROOT_ENGINE=ptrace), when no arguments narrow
# it.
if [[ $# -eq 0 ]]; then
    t2=$SECONDS
    SPROOT_ENGINE=ptrace cargo test --release --no-fail-fast || status=$?
    echo "test.sh: the suite with SPROOT_ENGINE=ptrace took $((SECONDS - t2))s (exit $status)" >&2
fi
exit "$status"
