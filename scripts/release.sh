#!/usr/bin/env bash
# Build the static release binaries of sproot for x86_64 and aarch64.
#
#   scripts/release.sh [OUTDIR]
#
# Each is one statically linked executable with no runtime dependency
# (musl), named sproot-<version>-<arch>, written to OUTDIR (default:
# target/release-bin). Needs the rustup targets x86_64-unknown-linux-musl
# and aarch64-unknown-linux-musl, and Debian's gcc-aarch64-linux-gnu as the
# aarch64 linker (set in .cargo/config.toml).
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

OUT=${1:-target/release-bin}
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[[ -n $VERSION ]] || { echo "release: no version in Cargo.toml" >&2; exit 1; }
mkdir -p -- "$OUT"

for arch in x86_64 aarch64; do
    target=$arch-unknown-linux-musl
    cargo build --release --locked --target "$target" --bin sproot
    bin=target/$target/release/sproot
    # One file, nothing to load at run time: no PT_INTERP, no DT_NEEDED.
    if readelf -lW "$bin" | grep -q 'Requesting program interpreter' ||
       readelf -dW "$bin" | grep -q '(NEEDED)'; then
        echo "release: $bin is not statically linked" >&2
        exit 1
    fi
    dest=$OUT/sproot-$VERSION-$arch
    cp -- "$bin" "$dest"
    strip_tool=strip
    [[ $arch == aarch64 ]] && strip_tool=aarch64-linux-gnu-strip
    if command -v "$strip_tool" >/dev/null; then "$strip_tool" "$dest"; fi
    echo "$dest"
done
