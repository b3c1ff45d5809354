//! Builds the in-process runtime (`runtime/`, the crate `sproot-runtime`)
//! that `src/inproc.rs` embeds with `include_bytes!`.
//!
//! Like the exec loader (`build/loader.rs`), it is a freestanding static
//! non-PIE executable linked at a fixed address: every guest program is
//! started by it and keeps it mapped, and the seccomp filter lets through
//! the syscalls made from its code, a range fixed when the filter is
//! installed. It links the core, so it is built by a nested `cargo build`
//! of its own crate (with `panic=abort` and its own flags, into its own
//! target directory under `OUT_DIR`).
//!
//! x86_64 and aarch64: elsewhere the artifact is empty and
//! `--engine=inproc` says so.

use std::path::Path;
use std::process::Command;

/// Link address: below the exec loader's, far from both non-PIE programs
/// and the mmap area (see `build/loader.rs`): x86_64 0x6e00_0000_0000;
/// aarch64 0x1f_0000_0000 (124 GiB), valid with 39-bit address spaces.
fn runtime_base(arch: &str) -> u64 {
    match arch {
        "aarch64" => 0x1f_0000_0000,
        _ => 0x6e00_0000_0000,
    }
}

const ARTIFACT: &str = "sproot-runtime";

pub fn build(arch: &str, out: &Path) {
    for p in [
        "runtime/src",
        "runtime/Cargo.toml",
        "runtime/Cargo.lock",
        "core/src",
        "src/loader",
        "build/runtime.rs",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    let dest = out.join(ARTIFACT);
    if !matches!(arch, "x86_64" | "aarch64")
        || std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux")
    {
        std::fs::write(&dest, b"").expect("write the empty runtime artifact");
        return;
    }
    // Freestanding: any Linux target of the architecture does; the GNU one
    // is installed with the toolchain (aarch64: rustup target add, and
    // .cargo/config.toml's linker).
    let target = format!("{arch}-unknown-linux-gnu");
    let target_dir = out.join("runtime-target");
    let base = format!("{:#x}", runtime_base(arch));
    let mut errors = String::new();
    for base_arg in [
        format!("link-arg=-Wl,--image-base={base}"),
        format!("link-arg=-Wl,-Ttext-segment={base}"),
    ] {
        // x86_64: non-PIC code above 2 GiB needs 64-bit absolute addresses;
        // aarch64 code is PC-relative at any address.
        let model = if arch == "x86_64" {
            "code-model=large"
        } else {
            "code-model=small"
        };
        let flags = [
            "-C",
            "relocation-model=static",
            "-C",
            model,
            "-C",
            "target-feature=+crt-static",
            "-C",
            "link-arg=-nostdlib",
            "-C",
            "link-arg=-static",
            "-C",
            "link-arg=-no-pie",
            "-C",
            &base_arg,
            "-C",
            "link-arg=-Wl,--build-id=none",
            "-C",
            "link-arg=-Wl,-z,noexecstack",
        ]
        .join("\x1f");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--release",
            "--manifest-path",
            "runtime/Cargo.toml",
        ])
        .args(["--target", &target])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags);
        // Nothing meant for the main crate's build reaches this one.
        for v in [
            "RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
            "CARGO_BUILD_RUSTFLAGS",
        ] {
            cmd.env_remove(v);
        }
        if std::env::var_os("CARGO_NET_OFFLINE").is_some() {
            cmd.arg("--offline");
        }
        let result = cmd
            .output()
            .unwrap_or_else(|e| panic!("failed to run cargo for the runtime: {e}"));
        if result.status.success() {
            let built = target_dir.join(&target).join("release").join(ARTIFACT);
            std::fs::copy(&built, &dest)
                .unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
            return;
        }
        errors.push_str(&String::from_utf8_lossy(&result.stderr));
    }
    panic!("building the in-process runtime (runtime/) failed:\n{errors}");
}
