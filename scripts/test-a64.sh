#!/usr/bin/env bash
# aarch64 tests, in an emulated aarch64 VM (scripts/a64-vm):
#  1. tests/a64/vm-suite.sh: the static aarch64 sproot against an arm64 Debian
#     rootfs (scripts/mkrootfs-arm64.sh), compared with chroot in the same VM,
#     once with each engine (the checks that name no engine),
#     and at its end tests/a64/android-suite.sh: sproot inside Android's app
#     sandbox (tests/android/: each release's aarch64 policy, a 4.14 kernel);
#  2. the library's unit tests built for aarch64-unknown-linux-gnu, run
#     chrooted into that rootfs, except tracer::model's exhaustive event-order
#     enumerations: pure logic with no architecture in it, far too slow on an
#     emulated CPU (>15 min), and run natively by scripts/test.sh.
# Needs root the first time (rootfs, VM kernel), the rustup targets
# aarch64-unknown-linux-musl and aarch64-unknown-linux-gnu, and
# gcc-aarch64-linux-gnu.
#
# Environment: A64_STORM_ROUNDS (storm size, see vm-suite.sh), A64_TIMEOUT
# (per VM run, default here 900 s), SPROOT_ARM64_ROOTFS.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
export A64_TIMEOUT=${A64_TIMEOUT:-900}

rootfs=$(scripts/mkrootfs-arm64.sh)
cargo build --release --locked --target aarch64-unknown-linux-musl --bin sproot

stage=$(mktemp -d "${TMPDIR:-/var/tmp}/a64-stage.XXXXXX")
trap 'rm -rf --one-file-system -- "$stage"' EXIT
mkdir -p "$stage/progs"
cp -a --reflink=auto "$rootfs" "$stage/rootfs"
cp target/aarch64-unknown-linux-musl/release/sproot tests/a64/vm-suite.sh "$stage/"
cc=aarch64-linux-gnu-gcc
$cc -O1 -o "$stage/progs/hello" tests/a64/hello.c
$cc -O1 -no-pie -o "$stage/progs/hello-nopie" tests/a64/hello.c
$cc -O1 -static -o "$stage/progs/hello-static" tests/a64/hello.c
$cc -O0 -g -o "$stage/progs/hello-g" tests/a64/hello.c
$cc -O1 -static-pie -o "$stage/progs/hello-spie" tests/a64/hello.c
$cc -O1 -pthread -o "$stage/progs/threads" tests/a64/threads.c
$cc -O1 -o "$stage/progs/forks" tests/a64/forks.c
$cc -O1 -static -pthread -o "$stage/progs/tracer" tests/a64/tracer.c
# Android's app sandbox (tests/android/, run by tests/a64/android-suite.sh).
$cc -O2 -static -o "$stage/progs/android-sandbox" tests/android/sandbox.c
$cc -O1 -static -nostdlib -ffreestanding -fno-stack-protector -fno-builtin \
    -o "$stage/progs/android-probe" tests/android/probe.c
$cc -O1 -static -o "$stage/progs/sysv-semantics" tests/sysvipc/semantics.c
mkdir -p "$stage/android"
cp tests/android/policy/*.aarch64.txt "$stage/android/"
cp tests/a64/android-suite.sh "$stage/"

status=0
# Twice: the checks that name no engine with the ptrace engine, then with
# the in-process one (sproot's default).
for engine in ptrace inproc; do
    echo "=== a64: integration suite in the VM (engine $engine)" >&2
    scripts/a64-vm --disk "$stage" -- /bin/sh -c 'A64_ENGINE='"$engine"' A64_STORM_ROUNDS='"${A64_STORM_ROUNDS:-6}"' exec sh /mnt/vm-suite.sh' || status=$?
done

echo "=== a64: unit tests in the VM" >&2
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/scripts/a64-vm --cargo-runner" \
A64_ROOTFS=$rootfs \
    cargo test --release --locked --target aarch64-unknown-linux-gnu --lib -- \
    --skip tracer::model || status=$?
exit "$status"
