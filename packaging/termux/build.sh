# shellcheck shell=bash disable=SC2034
# sproot for Termux, in termux-packages' build.sh format.
#
# In termux-packages: copy this directory to packages/sproot/ and run
# `./build-package.sh -a aarch64 sproot` (or -a x86_64). Outside it, on a
# Linux build machine: `bash packaging/termux/build.sh --standalone --help`.
# packaging/termux/README.md says more.
#
# sproot is built as one static executable (Rust's musl target, no libc to
# load, no Android linker involved) for the device's architecture. Its
# manual page and shell completions come from the project's `sproot-gen`,
# which runs on the build machine and so is built for the build machine.
#
# This file is not executable on purpose: termux-packages' linter refuses
# an executable build.sh. Run the standalone mode with `bash`.

# FIXME: sproot has no public repository address yet. Put it here (or set
# SPROOT_GIT_URL) before building from a tag; SPROOT_SRC=DIR builds from a
# local checkout instead and needs no address.
TERMUX_PKG_HOMEPAGE=https://example.invalid/sproot
TERMUX_PKG_DESCRIPTION="Seccomp-accelerated userspace chroot with bind mounts, a drop-in for proot"
TERMUX_PKG_LICENSE="MIT, Apache-2.0"
TERMUX_PKG_LICENSE_FILE="LICENSE-MIT, LICENSE-APACHE"
TERMUX_PKG_MAINTAINER="sproot developers"
TERMUX_PKG_VERSION="0.1.0"
# Built from the git tag v$TERMUX_PKG_VERSION.
TERMUX_PKG_SRCURL="git+${SPROOT_GIT_URL:-https://example.invalid/sproot.git}"
TERMUX_PKG_GIT_BRANCH="v${TERMUX_PKG_VERSION}"
# A static executable: nothing to depend on at run time.
TERMUX_PKG_SUGGESTS="proot-distro"
TERMUX_PKG_BUILD_IN_SRC=true
# sproot supports 64-bit x86 and ARM only (filters/aarch64.json,
# filters/x86_64.json); termux_step_pre_configure says so for any other.
TERMUX_PKG_EXCLUDED_ARCHES="arm, i686"
# Android's dynamic linker never sees this binary (it is static): there is
# no dynamic section for termux-elf-cleaner to adapt.
TERMUX_PKG_NO_ELF_CLEANER=true
# The musl targets come from rustup; Termux's own rust package has only the
# Android targets.
TERMUX_PKG_ON_DEVICE_BUILD_NOT_SUPPORTED=true
TERMUX_PKG_HAS_DEBUG=false

# ---------------------------------------------------------------------------
# Helpers shared by the termux-packages steps and the standalone mode. Their
# names start with _sproot_ so that they cannot clash with termux-packages'.

_sproot_die() {
	if declare -F termux_error_exit >/dev/null; then
		termux_error_exit "sproot: $*"
	fi
	printf 'sproot build.sh: %s\n' "$*" >&2
	exit 1
}

# Refuse what sproot does not support, with a reason.
_sproot_check_arch() {
	case "$1" in
		aarch64|x86_64) ;;
		*)
			_sproot_die "architecture '$1' is not supported: sproot runs on aarch64 and x86_64 only (its seccomp filters, register access and exec loader exist for these two)"
			;;
	esac
}

# The Rust target sproot is built for: static, musl.
_sproot_musl_target() {
	printf '%s-unknown-linux-musl\n' "$1"
}

# The build machine's own Rust target, for the programs run during the build.
_sproot_host_target() {
	rustc -vV | sed -n 's/^host: //p'
}

_sproot_target_dir() {
	printf '%s\n' "${CARGO_TARGET_DIR:-$1/target}"
}

# Cargo.toml's version against TERMUX_PKG_VERSION. A mismatch is an error
# for a tag build (the wrong tag) and a warning for a local source dir.
_sproot_check_version() {
	local src="$1" version
	version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$src/Cargo.toml" | head -n1)
	[[ -n "$version" ]] || _sproot_die "no version in $src/Cargo.toml"
	if [[ "$version" != "$TERMUX_PKG_VERSION" ]]; then
		if [[ -n "${SPROOT_SRC:-}" ]]; then
			printf 'sproot: warning: %s/Cargo.toml says %s, TERMUX_PKG_VERSION is %s\n' \
				"$src" "$version" "$TERMUX_PKG_VERSION" >&2
		else
			_sproot_die "Cargo.toml says version $version but TERMUX_PKG_VERSION is $TERMUX_PKG_VERSION"
		fi
	fi
}

# Link TARGET with clang and lld, as in termux-packages, where the NDK's
# clang and ld.lld are on PATH: clang can drive a link for any target, and
# rustc brings musl's start files and libc itself (self-contained). The
# exec loader (build/loader.rs) is linked by the same driver, through
# cargo's RUSTC_LINKER. CARGO_TARGET_<TARGET>_LINKER, when already set, is
# left alone.
_sproot_use_clang_linker() {
	local target="$1" dir="$2" var clang
	var="CARGO_TARGET_${target//-/_}_LINKER"
	var="${var^^}"
	if [[ -n "${!var:-}" ]]; then
		return 0
	fi
	clang=$(command -v "${SPROOT_CLANG:-clang}") ||
		_sproot_die "no clang on PATH to link $target (set SPROOT_CLANG or $var)"
	command -v ld.lld >/dev/null ||
		[[ -x "$(dirname "$clang")/ld.lld" ]] ||
		_sproot_die "no ld.lld next to $clang or on PATH to link $target"
	mkdir -p "$dir"
	cat <<-WRAPPER > "$dir/$target-clang"
	#!/bin/sh
	exec "$clang" --target=$target -fuse-ld=lld "\$@"
	WRAPPER
	chmod 755 "$dir/$target-clang"
	export "$var=$dir/$target-clang"
}

# A static executable: no program interpreter, no shared library needed,
# and built for the right machine.
_sproot_check_static() {
	local bin="$1" arch="$2" readelf="${READELF:-readelf}" machine
	[[ -f "$bin" ]] || _sproot_die "$bin was not built"
	command -v "$readelf" >/dev/null || _sproot_die "no $readelf to inspect $bin"
	if "$readelf" -lW "$bin" | grep -q 'Requesting program interpreter' ||
		"$readelf" -dW "$bin" | grep -q '(NEEDED)'; then
		_sproot_die "$bin is not statically linked"
	fi
	machine=$("$readelf" -hW "$bin" | sed -n 's/^ *Machine: *//p')
	case "$arch:$machine" in
		aarch64:*AArch64*|x86_64:*X86-64*|x86_64:*X86_64*) ;;
		*) _sproot_die "$bin is for '$machine', not $arch" ;;
	esac
}

# Build sproot for TARGET and sproot-gen for the build machine, in SRC.
# PREFIX is where the package lives at run time: sproot's defaults for its
# temporary directory ($PREFIX/tmp: Android has no /tmp) and for its exec
# loader ($PREFIX/libexec/sproot/loader, installed by _sproot_install, so
# that nothing written at run time is executed) are built in.
_sproot_cargo_build() {
	local src="$1" arch="$2" jobs="$3" prefix="$4" target host
	target=$(_sproot_musl_target "$arch")
	host=$(_sproot_host_target)
	[[ -n "$host" ]] || _sproot_die "cannot tell the build machine's Rust target (rustc -vV)"
	(
		cd "$src"
		export SPROOT_DEFAULT_TMP_DIR="$prefix/tmp"
		export SPROOT_DEFAULT_LOADER="$prefix/libexec/sproot/loader"
		cargo build --release --locked --jobs "$jobs" --target "$target" --bin sproot
	)
	(
		cd "$src"
		# The cross toolchain's compilers and flags are not for the host.
		unset CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS AR AS CPP LD RANLIB STRIP
		cargo build --release --locked --jobs "$jobs" --target "$host" --bin sproot-gen
	)
	_sproot_check_static "$(_sproot_target_dir "$src")/$target/release/sproot" "$arch"
}

# Install into ROOT (a prefix, e.g. $TERMUX_PREFIX): bin/sproot, the manual
# page and the bash, zsh and fish completions, laid out as
# scripts/install.sh does.
_sproot_install() {
	local src="$1" arch="$2" root="$3" tdir target host gen
	tdir=$(_sproot_target_dir "$src")
	target=$(_sproot_musl_target "$arch")
	host=$(_sproot_host_target)
	gen=$(mktemp -d)
	"$tdir/$host/release/sproot-gen" all "$gen"
	install -Dm700 "$tdir/$target/release/sproot" "$root/bin/sproot"
	# The exec loader build.rs made for this build of sproot (PROOT_LOADER
	# accepts only these exact bytes).
	local loader
	loader=$(ls -t "$tdir/$target"/release/build/sproot-*/out/sproot-loader | head -n1)
	[[ -f "$loader" ]] || _sproot_die "no exec loader under $tdir/$target/release/build"
	install -Dm700 "$loader" "$root/libexec/sproot/loader"
	# The in-process engine's runtime, next to it (used in place of an
	# extracted copy when it is byte for byte this build's).
	local runtime="${loader%/sproot-loader}/sproot-runtime"
	if [[ -s "$runtime" ]]; then
		install -Dm700 "$runtime" "$root/libexec/sproot/runtime"
	fi
	install -Dm600 "$gen/sproot.1" "$root/share/man/man1/sproot.1"
	install -Dm600 "$gen/sproot.bash" "$root/share/bash-completion/completions/sproot"
	install -Dm600 "$gen/_sproot" "$root/share/zsh/site-functions/_sproot"
	install -Dm600 "$gen/sproot.fish" "$root/share/fish/vendor_completions.d/sproot.fish"
	rm -rf "$gen"
}

# ---------------------------------------------------------------------------
# termux-packages steps.

# SPROOT_SRC=DIR (an absolute path the build can see): build from that
# checkout, as it is on disk, instead of cloning the tag.
if [[ -n "${SPROOT_SRC:-}" ]]; then
	termux_step_get_source() {
		[[ "$SPROOT_SRC" == /* && -f "$SPROOT_SRC/Cargo.toml" ]] ||
			_sproot_die "SPROOT_SRC='$SPROOT_SRC' is not an absolute path to a sproot checkout"
		rm -rf "$TERMUX_PKG_SRCDIR"
		mkdir -p "$TERMUX_PKG_SRCDIR"
		tar -C "$SPROOT_SRC" --exclude=./target -cf - . | tar -C "$TERMUX_PKG_SRCDIR" -xf -
	}
fi

termux_step_pre_configure() {
	_sproot_check_arch "$TERMUX_ARCH"
	_sproot_check_version "$TERMUX_PKG_SRCDIR"
	termux_setup_rust
	rustup target add "$(_sproot_musl_target "$TERMUX_ARCH")"
}

termux_step_make() {
	_sproot_use_clang_linker "$(_sproot_musl_target "$TERMUX_ARCH")" "$TERMUX_PKG_TMPDIR/sproot-linker"
	_sproot_cargo_build "$TERMUX_PKG_SRCDIR" "$TERMUX_ARCH" "$TERMUX_PKG_MAKE_PROCESSES" "$TERMUX_PREFIX"
}

termux_step_make_install() {
	_sproot_install "$TERMUX_PKG_SRCDIR" "$TERMUX_ARCH" "$TERMUX_PREFIX"
}

# ---------------------------------------------------------------------------
# Standalone mode: `bash build.sh --standalone [OPTION]...` runs the same
# builds and installs into DESTDIR/PREFIX, without termux-packages.

_sproot_usage() {
	cat <<-'USAGE'
	usage: bash build.sh --standalone [OPTION]...

	Builds sproot as termux-packages would (static, for ARCH) and stages the
	package's files into DESTDIR/PREFIX:
	  PREFIX/bin/sproot
	  PREFIX/share/man/man1/sproot.1
	  PREFIX/share/bash-completion/completions/sproot
	  PREFIX/share/zsh/site-functions/_sproot
	  PREFIX/share/fish/vendor_completions.d/sproot.fish
	  PREFIX/share/doc/sproot/LICENSE-MIT, LICENSE-APACHE

	  --arch ARCH      aarch64 or x86_64 (default: this machine's)
	  --destdir DIR    staging directory (default: $DESTDIR, else
	                   TARGET_DIR/termux-ARCH, TARGET_DIR being cargo's)
	  --prefix DIR     Termux's prefix (default: $TERMUX_PREFIX, else
	                   /data/data/com.termux/files/usr)
	  --linker KIND    cargo: the linker cargo is configured with (default;
	                   aarch64 uses .cargo/config.toml's aarch64-linux-gnu-gcc)
	                   clang: clang and ld.lld, as termux-packages links
	  --jobs N         cargo's jobs (default: nproc)

	Environment: SPROOT_SRC (the checkout to build, default: the one this
	file is in), CARGO_TARGET_DIR, SPROOT_CLANG (clang for --linker clang).
	USAGE
}

_sproot_standalone() {
	local arch="" destdir="${DESTDIR:-}" prefix="${TERMUX_PREFIX:-/data/data/com.termux/files/usr}"
	local linker=cargo jobs src target tdir root
	jobs=$(nproc 2>/dev/null || echo 2)
	case "${1:-}" in
		--standalone) ;;
		-h|--help) _sproot_usage; exit 0 ;;
		*) _sproot_usage >&2; exit 2 ;;
	esac
	shift
	while (( $# )); do
		case "$1" in
			--arch) arch="${2:?--arch needs a value}"; shift 2 ;;
			--destdir) destdir="${2:?--destdir needs a value}"; shift 2 ;;
			--prefix) prefix="${2:?--prefix needs a value}"; shift 2 ;;
			--linker) linker="${2:?--linker needs a value}"; shift 2 ;;
			--jobs) jobs="${2:?--jobs needs a value}"; shift 2 ;;
			-h|--help) _sproot_usage; exit 0 ;;
			*) _sproot_usage >&2; _sproot_die "unknown option '$1'" ;;
		esac
	done
	[[ -n "$arch" ]] || arch=$(uname -m)
	_sproot_check_arch "$arch"
	[[ "$prefix" == /* ]] || _sproot_die "--prefix must be absolute (got '$prefix')"

	src="${SPROOT_SRC:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}"
	[[ -f "$src/Cargo.toml" ]] || _sproot_die "$src is not a sproot checkout (no Cargo.toml)"
	src=$(cd -- "$src" && pwd)
	tdir=$(_sproot_target_dir "$src")
	[[ -n "$destdir" ]] || destdir="$tdir/termux-$arch"
	mkdir -p "$destdir"
	destdir=$(cd -- "$destdir" && pwd)
	target=$(_sproot_musl_target "$arch")

	_sproot_check_version "$src"
	if command -v rustup >/dev/null &&
		! rustup target list --installed | grep -qx "$target"; then
		rustup target add "$target"
	fi
	case "$linker" in
		cargo) ;;
		clang) _sproot_use_clang_linker "$target" "$tdir/sproot-linker" ;;
		*) _sproot_die "--linker is cargo or clang (got '$linker')" ;;
	esac

	_sproot_cargo_build "$src" "$arch" "$jobs" "$prefix"
	root="$destdir$prefix"
	_sproot_install "$src" "$arch" "$root"
	# termux-packages strips in its massage step (llvm-strip); so does this.
	local tool strip=""
	for tool in "$arch-linux-gnu-strip" llvm-strip; do
		command -v "$tool" >/dev/null && { strip="$tool"; break; }
	done
	if [[ -z "$strip" && "$arch" == "$(uname -m)" ]] && command -v strip >/dev/null; then
		strip="strip"
	fi
	if [[ -n "$strip" ]]; then
		"$strip" "$root/bin/sproot"
	else
		printf 'sproot: no strip for %s found: bin/sproot keeps its symbols\n' "$arch" >&2
	fi
	# termux-packages' termux_step_install_license does this for a package.
	install -Dm600 "$src/LICENSE-MIT" "$root/share/doc/sproot/LICENSE-MIT"
	install -Dm600 "$src/LICENSE-APACHE" "$root/share/doc/sproot/LICENSE-APACHE"
	printf 'sproot %s for %s staged in %s:\n' "$TERMUX_PKG_VERSION" "$arch" "$destdir"
	(cd "$destdir" && find . -type f | sort | sed 's|^\./|  |')
}

# Run directly (not sourced by termux-packages): the standalone mode.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	_sproot_standalone "$@"
fi
