//! Build steps that must happen before the crate compiles:
//! - compile `filters/<arch>.json` (seccompiler's JSON format) into raw BPF
//!   that `src/seccomp` embeds with `include_bytes!`;
//! - build the static exec loader (`src/loader`) that `src/exec` embeds;
//! - build the in-process runtime (`runtime/`) that `src/inproc.rs` embeds;
//! - record the git commit the binary is built from (`sproot -V`).

#[path = "build/filter.rs"]
mod filter;
#[path = "build/loader.rs"]
mod loader;
#[path = "build/runtime.rs"]
mod runtime;

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("target arch is set by cargo");
    compile_filter(&arch, &out);
    loader::build(&arch, &out);
    runtime::build(&arch, &out);
    git_commit();
}

/// `SPROOT_GIT_COMMIT`: the commit checked out, or "unknown" outside a git
/// checkout (uncommitted changes are not tracked: that would rebuild the
/// loader on every edit).
fn git_commit() {
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let text = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SPROOT_GIT_COMMIT={text}");
    // Run again when HEAD moves or the branch it names gets a new commit.
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={common}/packed-refs");
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={common}/{r}");
        }
    }
}

/// The filter file has two filters in seccompiler's JSON format: `tracee`,
/// the default set, and `tracee_ext`, which lists only what the extensions
/// (fake ids, uname, link2symlink, hidden files) need on top of it. The
/// extended filter compiled here is `tracee` with each of those extra
/// entries added, replacing the `tracee` entry of the same syscall if any
/// (e.g. an unconditional `newfstatat` instead of the conditional one).
fn compile_filter(arch: &str, out: &std::path::Path) {
    let path = PathBuf::from(format!("filters/{arch}.json"));
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut doc: serde_json::Value =
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    let entries = |doc: &serde_json::Value, name: &str| -> Vec<serde_json::Value> {
        doc[name]["filter"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no {name:?} filter list", path.display()))
            .clone()
    };
    let (mut base, extras) = (entries(&doc, "tracee"), entries(&doc, "tracee_ext"));
    // The table (the core's) says which syscalls stop; the file adds the
    // ones stopped only for some arguments, and those the tracer answers
    // itself (`ptrace`).
    let table_arch = sproot_core::sysno::Arch::from_name(arch)
        .unwrap_or_else(|| panic!("sproot has no syscall table for {arch}"));
    let listed: Vec<serde_json::Value> = base.iter().map(|e| e["syscall"].clone()).collect();
    for name in sproot_core::table::trapped_names(table_arch) {
        if !listed.contains(&serde_json::Value::from(name)) {
            base.push(serde_json::json!({ "syscall": name }));
        }
    }
    doc["tracee"]["filter"] = serde_json::Value::Array(base.clone());
    // The in-process engine traps the same syscalls (whatever their
    // arguments): their names, one per line.
    let mut names: Vec<&str> = base.iter().filter_map(|e| e["syscall"].as_str()).collect();
    names.dedup();
    fs::write(out.join("trapped_names.txt"), names.join("\n"))
        .unwrap_or_else(|e| panic!("write trapped_names.txt: {e}"));
    // And those the extensions add (fake ids, uname, stat results).
    let ext_names: Vec<&str> = extras
        .iter()
        .filter_map(|e| e["syscall"].as_str())
        .collect();
    fs::write(out.join("trapped_ext_names.txt"), ext_names.join("\n"))
        .unwrap_or_else(|e| panic!("write trapped_ext_names.txt: {e}"));
    let replaced: Vec<&serde_json::Value> = extras.iter().map(|e| &e["syscall"]).collect();
    let mut merged: Vec<serde_json::Value> = base
        .into_iter()
        .filter(|e| !replaced.contains(&&e["syscall"]))
        .collect();
    merged.extend(extras.iter().cloned());
    doc["tracee_ext"]["filter"] = serde_json::Value::Array(merged);
    let target: seccompiler::TargetArch = arch
        .try_into()
        .unwrap_or_else(|e| panic!("seccompiler does not support {arch}: {e:?}"));
    for (name, file) in [("tracee", "filter.bpf"), ("tracee_ext", "filter_ext.bpf")] {
        let prog: seccompiler::BpfProgram = filter::filter(&doc[name], name, table_arch, target)
            .try_into()
            .unwrap_or_else(|e| panic!("compile {} {name}: {e:?}", path.display()));
        // The kernel's `struct sock_filter` array (built for the host the
        // build runs on: the same byte order as every target sproot has).
        let insns: Vec<sproot_core::cbpf::Insn> = prog
            .iter()
            .map(|i| sproot_core::cbpf::Insn {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let bytes = sproot_core::cbpf::encode(&insns);
        fs::write(out.join(file), bytes).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }
}
