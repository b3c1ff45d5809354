//! Builds the static exec loader (`src/loader/main.rs`) that `src/exec`
//! embeds with `include_bytes!`.
//!
//! The loader is a freestanding (`no_std`, no libc) static non-PIE executable.
//! It is linked at a fixed, high address (`LOADER_BASE`) so that it can never
//! overlap what it has to map:
//!
//! * non-PIE guest programs are linked at 0x400000 (sometimes 0x8048000 or
//!   0x10000) and their `MAP_FIXED` segments sit in the low gigabytes;
//! * PIE programs, their interpreter and every shared library are placed by
//!   `mmap(NULL, ...)`, i.e. top-down from just below the stack, in the
//!   0x7fxx_xxxx_xxxx range;
//! * the heap (`brk`) starts right after the loader's own `.bss` and grows
//!   upwards, away from both.
//!
//! The address is set with `--image-base` (rust-lld) or `-Ttext-segment`
//! (GNU ld); since it is above 2 GiB the code uses `-C code-model=large`.
//!
//! x86_64: 0x6f00_0000_0000 (~111 TiB) leaves ~16 TiB between the loader and
//! the top of the mmap area, and is far above any sane fixed link address,
//! while still being valid with 47-bit (4-level paging) address spaces.
//!
//! aarch64: kernels use 39-bit (Android, many phones), 48-bit or 52-bit
//! address spaces, so the loader sits at 0x20_0000_0000 (128 GiB), valid
//! with all of them and below where PIE programs (2/3 of the address space)
//! and `mmap` (just below the stack) put things. aarch64 code is
//! PC-relative, so the default code model works at any address.

use std::path::Path;
use std::process::Command;

/// Link address of the loader's first segment (see module docs).
fn loader_base(arch: &str) -> &'static str {
    match arch {
        "aarch64" => "0x2000000000",
        _ => "0x6f0000000000",
    }
}

/// Name of the artifact in `OUT_DIR`, included by `src/exec/mod.rs`.
const ARTIFACT: &str = "sproot-loader";

pub fn build(arch: &str, out: &Path) {
    let src = Path::new("src/loader/main.rs");
    println!("cargo:rerun-if-changed=src/loader");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed=build/loader.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");

    let dest = out.join(ARTIFACT);
    let base = loader_base(arch);
    // The tracer tells the loader's syscalls from the guest's by address.
    println!("cargo:rustc-env=SPROOT_LOADER_BASE={base}");

    // The linker flag that sets the base address differs: rust-lld (rustc's
    // default linker on x86_64-linux since 1.90) wants `--image-base`, GNU ld
    // wants `-Ttext-segment`. Try both, lld's first.
    let attempts = [
        format!("link-arg=-Wl,--image-base={base}"),
        format!("link-arg=-Wl,-Ttext-segment={base}"),
    ];
    let mut errors = String::new();
    for base_arg in &attempts {
        let out = loader_rustc(arch, src, &dest, base_arg)
            .output()
            .unwrap_or_else(|e| panic!("failed to run rustc for the loader: {e}"));
        if out.status.success() {
            return;
        }
        errors.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    panic!(
        "building the exec loader ({}) failed:\n{errors}",
        src.display()
    );
}

fn loader_rustc(arch: &str, src: &Path, dest: &Path, base_arg: &str) -> Command {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let mut cmd = Command::new(rustc);
    cmd.arg(src)
        .args(["--edition", "2021", "--crate-type", "bin"])
        .args(["--crate-name", "sproot_loader"])
        .args(["-C", "panic=abort"])
        .args(["-C", "opt-level=s"])
        .args(["-C", "relocation-model=static"])
        .args(["-C", "target-feature=+crt-static"])
        .args(["-C", "debuginfo=0"])
        .args(["-C", "strip=symbols"])
        .args(["-C", "link-arg=-nostdlib"])
        .args(["-C", "link-arg=-static"])
        .args(["-C", "link-arg=-no-pie"])
        .args(["-C", base_arg])
        .args(["-C", "link-arg=-Wl,--build-id=none"])
        .args(["-C", "link-arg=-Wl,-z,noexecstack"])
        .arg("-o")
        .arg(dest);
    if arch == "x86_64" {
        // Non-PIC code linked above 2 GiB needs 64-bit absolute addresses.
        cmd.args(["-C", "code-model=large"]);
    }
    // The linker cargo resolved for the target (`.cargo/config.toml`'s
    // `linker`, e.g. aarch64-linux-gnu-gcc for a cross build).
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        cmd.arg("-C").arg(format!("linker={linker}"));
    }
    // Cross builds: compile for the target, not for the build host.
    if let (Ok(target), Ok(host)) = (std::env::var("TARGET"), std::env::var("HOST"))
        && target != host
    {
        cmd.args(["--target", &target]);
    }
    // The musl targets add musl's start files (crt1.o with its own `_start`)
    // unless told not to; the loader has its own `_start` and no libc.
    if std::env::var("TARGET").is_ok_and(|t| t.contains("musl")) {
        cmd.args(["-C", "link-self-contained=no"]);
    }
    // The loader must not inherit flags meant for the main crate (e.g.
    // `-C target-cpu`, sanitizers, coverage), so the environment's RUSTFLAGS
    // are deliberately not forwarded.
    cmd
}
