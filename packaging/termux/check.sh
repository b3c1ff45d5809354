#!/usr/bin/env bash
# shellcheck disable=SC2031 # recipe() sources build.sh in a subshell, whose
# functions' locals (arch, prefix) are not this script's variables.
# Checks packaging/termux/build.sh's standalone mode on this Linux machine:
# builds the Termux package's files for ARCH into a temporary DESTDIR, then
# checks that bin/sproot is a static executable for ARCH that runs
# `--version`, that the manual page and the bash, zsh and fish completions
# are there and well-formed, and (when ARCH is this machine's) that the
# static binary runs a guest and extracts its exec loader into PROOT_TMP_DIR,
# else TMPDIR, as on Termux. Then runs build.sh's termux-packages steps
# (termux_step_get_source with SPROOT_SRC, pre_configure, make,
# make_install) the way build-package.sh calls them, with only
# termux_setup_rust stood in for, and checks what they install and that
# they refuse TERMUX_ARCH=arm.
#
#   packaging/termux/check.sh                       x86_64 (the default)
#   SPROOT_CHECK_ARCH=aarch64 packaging/termux/check.sh
#                                                   cross build; --version
#                                                   runs under qemu-aarch64
#                                                   if there is one
#   packaging/termux/check.sh --linker clang        link as termux-packages
#                                                   does (clang + ld.lld)
#
# Arguments are passed on to build.sh. CARGO_TARGET_DIR defaults to
# /tmp/sproot-termux-check-target (kept between runs, so a second run is
# quick); SPROOT_SRC picks the checkout; SPROOT_CHECK_KEEP=1 keeps DESTDIR.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
arch=${SPROOT_CHECK_ARCH:-x86_64}
prefix=/data/data/com.termux/files/usr
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sproot-termux-check-target}
src=${SPROOT_SRC:-$(cd -- "$here/../.." && pwd)}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$src/Cargo.toml" | head -n1)

work=$(mktemp -d /tmp/sproot-termux-check.XXXXXX)
if [[ "${SPROOT_CHECK_KEEP:-}" == 1 ]]; then
    trap 'echo "kept $work"' EXIT
else
    trap 'rm -rf -- "$work"' EXIT
fi

echo "== bash build.sh --standalone --arch $arch (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
bash "$here/build.sh" --standalone --arch "$arch" --destdir "$work/destdir" --prefix "$prefix" "$@"
root=$work/destdir$prefix
bin=$root/bin/sproot

passed=0 failed=0 skipped=0
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok    $what"
        passed=$((passed + 1))
    else
        echo "FAIL  $what"
        failed=$((failed + 1))
    fi
}
skip() {
    echo "skip  $1"
    skipped=$((skipped + 1))
}
nonempty() { [[ -f $1 && -s $1 ]]; }

is_executable() { [[ -f $bin && -x $bin ]]; }
machine_is_arch() {
    local m
    m=$(readelf -hW "$bin" | sed -n 's/^ *Machine: *//p')
    case "$arch:$m" in
        aarch64:*AArch64* | x86_64:*X86-64*) ;;
        *) echo "      machine: $m"; return 1 ;;
    esac
}
is_static() {
    ! readelf -lW "$bin" | grep -q 'Requesting program interpreter' &&
        ! readelf -dW "$bin" | grep -q '(NEEDED)'
}

echo "== checks"
check "bin/sproot is an executable file" is_executable
check "bin/sproot is an ELF executable for $arch" machine_is_arch
check "bin/sproot is statically linked (no interpreter, no NEEDED)" is_static
if command -v file >/dev/null; then
    echo "      file: $(file -b "$bin")"
fi

# How to run the binary: natively, or under QEMU user mode for another arch.
runner=()
native=false
if [[ $arch == "$(uname -m)" ]]; then
    native=true
elif q=$(command -v "qemu-$arch-static" || command -v "qemu-$arch"); then
    runner=("$q")
fi

runs_version() {
    local out
    out=$("${runner[@]}" "$bin" --version) || return 1
    printf '%s\n' "$out" | sed 's/^/      /'
    [[ $(head -n1 <<<"$out") == "sproot $version "* ]] &&
        grep -qx "target: $arch-linux" <<<"$out"
}
if $native || ((${#runner[@]})); then
    check "bin/sproot --version names sproot $version and target $arch${runner:+ (under ${runner[0]##*/})}" runs_version
else
    skip "bin/sproot --version (no qemu-$arch to run an $arch binary here)"
fi

man=$root/share/man/man1/sproot.1
bash_c=$root/share/bash-completion/completions/sproot
zsh_c=$root/share/zsh/site-functions/_sproot
fish_c=$root/share/fish/vendor_completions.d/sproot.fish
man_ok() { nonempty "$man" && grep -q '^\.TH SPROOT 1' "$man" && grep -q '^\.SH ENVIRONMENT' "$man"; }
bash_ok() { nonempty "$bash_c" && bash -n "$bash_c" && grep -q 'complete .*sproot' "$bash_c"; }
zsh_ok() { nonempty "$zsh_c" && [[ $(head -n1 "$zsh_c") == '#compdef sproot' ]]; }
fish_ok() { nonempty "$fish_c" && grep -q '^complete -c sproot' "$fish_c"; }
licenses_ok() { nonempty "$root/share/doc/sproot/LICENSE-MIT" && nonempty "$root/share/doc/sproot/LICENSE-APACHE"; }
check "share/man/man1/sproot.1: non-empty roff page with ENVIRONMENT" man_ok
check "share/bash-completion/completions/sproot: non-empty, parses" bash_ok
check "share/zsh/site-functions/_sproot: non-empty, #compdef sproot" zsh_ok
check "share/fish/vendor_completions.d/sproot.fish: non-empty, complete -c sproot" fish_ok
check "share/doc/sproot/LICENSE-MIT and LICENSE-APACHE" licenses_ok

# Where the exec loader goes: PROOT_TMP_DIR first, else TMPDIR (Termux sets
# TMPDIR=$PREFIX/tmp). Needs ptrace, so only for a native binary.
loader_in() { compgen -G "$1/sproot-loader-$(id -u)-*" >/dev/null; }
guest_uses_proot_tmp_dir() {
    mkdir -p "$work/ptd" "$work/other"
    env PROOT_TMP_DIR="$work/ptd" TMPDIR="$work/other" "$bin" -r / /bin/true &&
        loader_in "$work/ptd" && ! loader_in "$work/other"
}
guest_uses_tmpdir() {
    mkdir -p "$work/td"
    env -u PROOT_TMP_DIR TMPDIR="$work/td" "$bin" -r / /bin/sh -c 'exit 0' &&
        loader_in "$work/td"
}
# The installed loader (what the package's built-in default names): used
# as it is through PROOT_LOADER, nothing extracted.
installed_loader="$(dirname -- "$(dirname -- "$bin")")/libexec/sproot/loader"
guest_uses_installed_loader() {
    mkdir -p "$work/il"
    env PROOT_LOADER="$installed_loader" PROOT_TMP_DIR="$work/il" "$bin" -r / /bin/true &&
        ! loader_in "$work/il"
}
check "libexec/sproot/loader is installed" test -x "$installed_loader"
if $native; then
    check "bin/sproot runs a guest from the installed loader (PROOT_LOADER)" guest_uses_installed_loader
    check "bin/sproot runs a guest; loader extracted to PROOT_TMP_DIR" guest_uses_proot_tmp_dir
    check "bin/sproot runs a guest; loader extracted to TMPDIR without PROOT_TMP_DIR" guest_uses_tmpdir
else
    skip "running a guest (needs a native $arch binary)"
fi

# The termux-packages side of build.sh: sourced as build-package.sh sources
# it (under set -euo pipefail), its steps run in order with the package
# built from SPROOT_SRC. Only termux_setup_rust (rustup is already here) and
# termux_error_exit are stood in for; the link uses clang and ld.lld as in
# termux-packages when they are here, else the linker cargo would use.
recipe() (
    set -euo pipefail
    TERMUX_ARCH=$1
    TERMUX_PREFIX=$work/recipe$prefix
    TERMUX_PKG_SRCDIR=$work/recipe-src
    TERMUX_PKG_TMPDIR=$work/recipe-tmp
    TERMUX_PKG_MAKE_PROCESSES=$(nproc)
    SPROOT_SRC=$src
    termux_error_exit() { echo "ERROR: $*" >&2; exit 1; }
    termux_setup_rust() { :; }
    if ! command -v clang >/dev/null || ! command -v ld.lld >/dev/null; then
        # What --linker cargo uses (.cargo/config.toml's for aarch64).
        v=CARGO_TARGET_${TERMUX_ARCH^^}_UNKNOWN_LINUX_MUSL_LINKER
        if [[ $TERMUX_ARCH == "$(uname -m)" ]]; then
            export "$v=cc"
        elif [[ $TERMUX_ARCH == aarch64 ]]; then
            export "$v=aarch64-linux-gnu-gcc"
        fi
    fi
    # shellcheck source=build.sh
    . "$here/build.sh"
    mkdir -p "$TERMUX_PKG_TMPDIR"
    termux_step_get_source
    cd "$TERMUX_PKG_SRCDIR"
    termux_step_pre_configure
    termux_step_make
    termux_step_make_install
)
echo "== termux-packages steps (build.sh sourced; termux_setup_rust stubbed)"
recipe_installs() {
    recipe "$arch" >"$work/recipe.log" 2>&1 || { tail -n 20 "$work/recipe.log"; return 1; }
    local r=$work/recipe$prefix f
    for f in bin/sproot share/man/man1/sproot.1 share/bash-completion/completions/sproot \
        share/zsh/site-functions/_sproot share/fish/vendor_completions.d/sproot.fish; do
        nonempty "$r/$f" || { echo "      missing: $f"; return 1; }
    done
    bin=$r/bin/sproot is_static && bin=$r/bin/sproot machine_is_arch
}
refuses_arm() {
    local out
    if out=$(recipe arm 2>&1); then return 1; fi
    grep -q "architecture 'arm' is not supported" <<<"$out" && echo "      $(grep -m1 ERROR <<<"$out")"
}
check "termux_step_get_source/pre_configure/make/make_install install the package for $arch" recipe_installs
check "termux_step_pre_configure refuses TERMUX_ARCH=arm with a reason" refuses_arm

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
