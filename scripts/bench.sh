#!/usr/bin/env bash
# The project's benchmark command: every workload of benches/suite.rs, natively
# (chroot), under classic PRoot and under sproot (with and without seccomp),
# interleaved, on the Debian rootfs. Writes benches/results/RESULTS.md (table +
# machine), benches/results/ratios.svg (chart) and benches/results/runs.tsv
# (every run), and prints the table.
#
#   sudo scripts/bench.sh [WORKLOAD...]       e.g. scripts/bench.sh find tar-x
#   scripts/bench.sh --list                   workloads and modes
#
# Environment: SPROOT_BENCH_RUNS (timed runs per mode, default 5),
# SPROOT_BENCH_MODES (e.g. native,sproot), SPROOT_BENCH_TIMEOUT (seconds per
# run), SPROOT_BENCH_OUT (output directory; a filtered run writes to
# target/bench-results by default so as not to overwrite the full results),
# SPROOT_DEBIAN_ROOTFS (rootfs; built and cached by scripts/mkrootfs-debian.sh
# when unset), SPROOT_BENCH_TERMUX_PROOT (termux's PRoot; default
# target/peers/proot-termux, built from ../shared/peers when that exists). Needs root: the native baseline is a real chroot.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
cd -- "$(dirname -- "$here")"

for a in "$@"; do
    if [[ $a == --list || $a == --help || $a == -h ]]; then
        exec cargo bench --quiet --bench suite -- "$@"
    fi
done

if [[ $(id -u) -ne 0 ]]; then
    echo "bench.sh: must run as root (the native baseline is chroot(2)); try: sudo $0 $*" >&2
    exit 1
fi
if [[ -z ${SPROOT_DEBIAN_ROOTFS:-} ]]; then
    # Build (once; cached) or find the default Debian rootfs.
    SPROOT_DEBIAN_ROOTFS=$(scripts/mkrootfs-debian.sh)
    export SPROOT_DEBIAN_ROOTFS
fi

# termux's PRoot (seccomp-accelerated; proot-distro's engine) is the peer:
# build it once from the project's peers tarball when it is there
# (needs libtalloc-dev and pkg-config). Without it, its modes are skipped.
peers=$(dirname -- "$PWD")/shared/peers/build.sh
if [[ -z ${SPROOT_BENCH_TERMUX_PROOT:-} && ! -x target/peers/proot-termux && -x $peers ]]; then
    if ! pkg-config --exists talloc 2>/dev/null; then
        apt-get -y -q -o DPkg::Lock::Timeout=600 install --no-install-recommends \
            libtalloc-dev pkg-config >/dev/null 2>&1 ||
            { apt-get -q update >/dev/null 2>&1 &&
              apt-get -y -q install --no-install-recommends libtalloc-dev pkg-config >/dev/null 2>&1; } ||
            echo "bench.sh: cannot install libtalloc-dev and pkg-config (termux PRoot needs them)" >&2
    fi
    "$peers" target/peers >/dev/null || echo "bench.sh: building termux PRoot failed; its modes are skipped" >&2
fi

# cargo bench builds sproot's release binary first; the suite measures that build.
exec cargo bench --bench suite -- "$@"
