//! sproot inside Android's app sandbox, reproduced on this host: the seccomp
//! policy zygote installs in every app (per release, generated from
//! bionic's own lists into tests/android/policy/ by
//! tests/android/gen-policy.py) and "kernel masks" that make the host's
//! kernel answer like the older kernels phones run
//! (tests/android/kernel-masks.txt). tests/android/sandbox.c sets a process
//! up as zygote sets up an app (groups, gid, mask, policy, then uid) and
//! runs sproot in it as an unprivileged user who owns a copy of the Debian
//! rootfs, with proot-distro's command line. The guest runs
//! tests/android/guest-workloads.sh; under each sandbox setting its output
//! must be the same as the same run without the sandbox.
//!
//! The sproot under test is the static (musl) build, the one that runs on
//! Android (README, "aarch64, static binaries and Android"): the test builds
//! it with `cargo build --release --target <arch>-unknown-linux-musl`. A
//! dynamic glibc build cannot start in the sandbox at all: its dynamic
//! loader's first call (`access`, on x86_64) is trapped before sproot's own
//! code runs. `SPROOT_ANDROID_BIN` names another binary to test; without the
//! musl target the test falls back to cargo's build of this test run and
//! says so.
//!
//! Needs root (to create the user and the copy, and to start the sandbox),
//! gcc, and `SPROOT_DEBIAN_ROOTFS` (see tests/debian.rs); without them each
//! test prints why it is skipped. The copy is kept between runs in
//! `SPROOT_ANDROID_TEST_DIR` (default /var/tmp/sproot-android<checkout>)
//! and made again when the rootfs changes; the workloads write only under
//! /tmp in it. tests/android/check-policies.sh checks the sandbox itself.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const USER: &str = "sproot-android-test";
const RELEASES: &[&str] = &["8.0", "10", "12", "14", "main"];
const KERNELS: &[&str] = &["4.14", "4.19", "5.10"];
#[cfg(target_arch = "x86_64")]
const ARCH: &str = "x86_64";
#[cfg(target_arch = "aarch64")]
const ARCH: &str = "aarch64";
/// Per run of the workloads (scaled by SPROOT_TEST_TIMEOUT_SCALE).
const RUN_SECS: u64 = 180;
/// Changed when what the setup puts into the copy changes.
const SETUP_VERSION: &str = "1";
const GUEST_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn android_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/android")
}

/// The user's container (`rootfs/`, `shm/`, `sys_empty/` as proot-distro
/// lays it out) and the sandbox, built once per test binary.
struct Setup {
    dir: PathBuf,
    uid: u32,
    gid: u32,
    sandbox: PathBuf,
}

static SETUP: OnceLock<Option<Setup>> = OnceLock::new();

fn sh(script: &str) -> Output {
    Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .expect("run /bin/sh")
}

fn setup(test: &str) -> Option<&'static Setup> {
    let s = SETUP.get_or_init(|| {
        let root = PathBuf::from(std::env::var_os("SPROOT_DEBIAN_ROOTFS")?);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let sandbox = compile_c(include_str!("android/sandbox.c"), &[])?;
        let dir = std::env::var_os("SPROOT_ANDROID_TEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let checkout = env!("CARGO_MANIFEST_DIR").replace('/', "-");
                PathBuf::from(format!("/var/tmp/sproot-android{checkout}"))
            });
        let out = sh(&format!(
            "id -u {USER} >/dev/null 2>&1 || useradd --system --create-home {USER}"
        ));
        assert!(out.status.success(), "create {USER}:\n{}", describe(&out));
        let id = |flag: &str| -> u32 {
            let out = sh(&format!("id {flag} {USER}"));
            stdout_str(&out)
                .trim()
                .parse()
                .expect("id of the test user")
        };
        let (uid, gid) = (id("-u"), id("-g"));

        // The copy is made again when the rootfs or the user changed.
        let mtime = std::fs::metadata(&root)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let stamp = format!(
            "{}\n{mtime}\n{uid}:{gid}\n{SETUP_VERSION}\n",
            root.display()
        );
        let stamp_file = dir.join("stamp");
        let fresh = std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp)
            && dir.join("rootfs/usr/bin/bash").exists();
        if !fresh {
            let (d, r) = (dir.display(), root.display());
            let out = sh(&format!(
                "set -e
                 rm -rf --one-file-system {d}
                 mkdir -p {d}/shm {d}/sys_empty
                 cp -a {r} {d}/rootfs
                 chown -R {uid}:{gid} {d}"
            ));
            assert!(
                out.status.success(),
                "copy the rootfs for {USER}:\n{}",
                describe(&out)
            );
            std::fs::write(&stamp_file, &stamp).expect("write the stamp");
        }

        let bin = dir.join("rootfs/usr/local/bin");
        let install = |from: &Path, name: &str| {
            let to = bin.join(name);
            std::fs::copy(from, &to).unwrap_or_else(|e| panic!("install {}: {e}", to.display()));
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            std::os::unix::fs::chown(&to, Some(uid), Some(gid)).expect("chown");
        };
        install(
            &android_dir().join("guest-workloads.sh"),
            "android-workloads",
        );
        for (name, src) in [
            ("android-guest-trap", include_str!("android/guest-trap.c")),
            ("android-sysv-ipc", include_str!("android/sysv-ipc.c")),
            (
                "android-sysv-semantics",
                include_str!("sysvipc/semantics.c"),
            ),
            ("android-statx", include_str!("android/statx.c")),
            ("android-at-flags", include_str!("android/at-flags.c")),
        ] {
            let prog = compile_c(src, &["-static"])?;
            install(&prog, name);
            if let Some(d) = prog.parent() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        Some(Setup {
            dir,
            uid,
            gid,
            sandbox,
        })
    });
    if s.is_none() {
        eprintln!(
            "{test}: skipped: needs root, gcc and SPROOT_DEBIAN_ROOTFS (see tests/debian.rs)"
        );
    }
    s.as_ref()
}

/// What the sandbox installs.
#[derive(Clone, Copy)]
struct Setting {
    /// A release of tests/android/policy.
    policy: Option<&'static str>,
    /// A kernel of tests/android/kernel-masks.txt.
    kernel: Option<&'static str>,
}

const NO_SANDBOX: Setting = Setting {
    policy: None,
    kernel: None,
};

impl Setting {
    fn label(&self) -> String {
        match (self.policy, self.kernel) {
            (Some(p), None) => format!("Android {p} policy"),
            (Some(p), Some(k)) => format!("Android {p} policy, kernel {k}"),
            (None, Some(k)) => format!("kernel {k}, no policy"),
            (None, None) => "no filters".into(),
        }
    }

    fn tag(&self) -> String {
        self.label()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }
}

/// One run of the guest, cut into its workloads.
struct Run {
    /// sproot's exit ("exit 0", "killed by SIGSYS", ...).
    status: String,
    /// (workload, its output and exit line), in order.
    sections: Vec<(String, String)>,
    /// sproot's own messages.
    stderr: String,
    /// When sproot itself was killed by SIGSYS: the call that was trapped
    /// (from a second run under strace, if the host has it).
    culprit: Option<String>,
}

fn status_text(out: &Output) -> String {
    match (out.status.code(), out.status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(31)) => "killed by SIGSYS".into(),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => format!("{:?}", out.status),
    }
}

impl Run {
    fn parse(out: &Output, workdir: &str) -> Run {
        let text = stdout_str(out).replace(workdir, "$W");
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("== ") {
                sections.push((name.to_string(), String::new()));
            } else {
                if sections.is_empty() {
                    sections.push(("(before the first workload)".into(), String::new()));
                }
                let body = &mut sections.last_mut().expect("a section").1;
                body.push_str(line);
                body.push('\n');
            }
        }
        Run {
            status: status_text(out),
            sections,
            stderr: stderr_str(out).replace(workdir, "$W"),
            culprit: None,
        }
    }

    fn section(&self, name: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_str())
    }
}

/// The sproot to run in the sandbox (see the top of this file), built once.
fn android_sproot() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("SPROOT_ANDROID_BIN") {
            return PathBuf::from(bin);
        }
        let triple = format!("{ARCH}-unknown-linux-musl");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(cargo)
            .args(["build", "--release", "--target", &triple, "--bin", "sproot"])
            .current_dir(manifest)
            .output();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("target"));
        let bin = target.join(&triple).join("release/sproot");
        match out {
            Ok(out) if out.status.success() && bin.exists() => bin,
            other => {
                let why = match other {
                    Ok(out) => stderr_str(&out).lines().last().unwrap_or("").to_string(),
                    Err(e) => e.to_string(),
                };
                eprintln!(
                    "note: no static {triple} build of sproot ({why}); testing {} instead, \
                     whose dynamic loader the app policy may stop before sproot runs",
                    sproot_bin().display()
                );
                sproot_bin()
            }
        }
    })
}

/// The sandbox command line that runs `guest` (a command in the guest)
/// under sproot with proot-distro's options, as the test user, in the
/// sandbox set up as `setting` says.
fn sandbox_args(s: &Setup, setting: Setting, guest: &[&str]) -> Vec<String> {
    let policies = android_dir().join("policy");
    let mut args: Vec<String> = vec![s.sandbox.display().to_string()];
    if let Some(p) = setting.policy {
        args.push("--policy".into());
        args.push(
            policies
                .join(format!("{p}.{ARCH}.txt"))
                .display()
                .to_string(),
        );
    }
    if let Some(k) = setting.kernel {
        args.extend(["--kernel".into(), k.into(), "--masks".into()]);
        args.push(
            policies
                .join(format!("kernel-masks.{ARCH}.txt"))
                .display()
                .to_string(),
        );
    }
    let c = s.dir.display();
    args.extend([
        "--uid".into(),
        s.uid.to_string(),
        "--gid".into(),
        s.gid.to_string(),
    ]);
    args.push("--".into());
    args.push(android_sproot().display().to_string());
    // The environment is cleared for the sandbox: the engine under test
    // goes on the command line.
    if let Some(engine) = std::env::var_os("SPROOT_ENGINE") {
        args.push(format!("--engine={}", engine.to_string_lossy()));
    }
    args.extend(PROOT_DISTRO_OPTIONS.iter().map(|o| o.to_string()));
    args.push("--rootfs=.".into());
    args.push(format!("--bind={c}/sys_empty:/sys/fs/selinux"));
    args.push(format!("--bind={c}/shm:/dev/shm"));
    args.extend(
        [
            "/usr/bin/env",
            "-i",
            "HOME=/root",
            "TERM=xterm",
            "LANG=C.UTF-8",
            "PYTHONDONTWRITEBYTECODE=1",
            GUEST_PATH,
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    args.extend(guest.iter().map(|a| a.to_string()));
    args
}

fn command(s: &Setup, program: &str, args: &[String]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(s.dir.join("rootfs"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    cmd
}

/// Runs `guest` in the sandbox set up as `setting` says. `$W` in the
/// guest's output stands for `workdir`.
fn run_guest(s: &Setup, setting: Setting, guest: &[&str], workdir: &str) -> Run {
    let args = sandbox_args(s, setting, guest);
    let what = format!("{} under {}", guest.join(" "), setting.label());
    let out = output_with_timeout(
        command(s, &args[0], &args[1..]),
        Duration::from_secs(RUN_SECS),
        &what,
    );
    let mut run = Run::parse(&out, workdir);
    if run.status == "killed by SIGSYS" {
        run.culprit = sigsys_culprit(s, &args, &what);
    }
    run
}

/// The syscall whose SIGSYS killed sproot itself: the same run again under
/// `strace` without -f, which follows sproot (the sandbox execs it) but not
/// its guests, and shows the siginfo of the fatal SIGSYS.
fn sigsys_culprit(s: &Setup, args: &[String], what: &str) -> Option<String> {
    let log = unique_temp_dir("android-strace").join("log");
    let mut strace_args: Vec<String> = ["-qq", "-e", "trace=none", "-e", "signal=SIGSYS", "-o"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    strace_args.push(log.display().to_string());
    strace_args.extend(args.iter().cloned());
    if Command::new("strace").arg("-V").output().is_err() {
        return None;
    }
    output_with_timeout(
        command(s, "strace", &strace_args),
        Duration::from_secs(RUN_SECS),
        &format!("strace of {what}"),
    );
    let text = std::fs::read_to_string(&log).ok()?;
    let line = text.lines().rev().find(|l| l.contains("si_syscall="))?;
    let nr = line.split("si_syscall=").nth(1)?.split([',', '}']).next()?;
    Some(nr.trim().to_string())
}

fn run_workloads(s: &Setup, setting: Setting) -> Run {
    let w = format!("/tmp/android-{}-{}", std::process::id(), setting.tag());
    run_guest(
        s,
        setting,
        &["/bin/bash", "/usr/local/bin/android-workloads", &w],
        &w,
    )
}

/// The workloads without any filter, once per test binary; they must all
/// succeed, or the comparisons mean nothing.
fn baseline(s: &Setup) -> &'static Run {
    static BASELINE: OnceLock<Run> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let run = run_workloads(s, NO_SANDBOX);
        let failed: Vec<&str> = run
            .sections
            .iter()
            .filter(|(_, body)| !body.ends_with("exit 0\n"))
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(
            run.status == "exit 0" && failed.is_empty() && run.sections.len() > 10,
            "the workloads fail without the sandbox ({}; failing: {failed:?}); fix that first:\n{}\n--- stderr:\n{}",
            run.status,
            run.sections
                .iter()
                .map(|(n, b)| format!("== {n}\n{b}"))
                .collect::<String>(),
            run.stderr
        );
        run
    })
}

/// How `got` differs from `want`: (what, want, got).
fn differences(want: &Run, got: &Run) -> Vec<(String, String, String)> {
    let mut diffs = Vec::new();
    if want.status != got.status {
        diffs.push(("sproot".into(), want.status.clone(), got.status.clone()));
    }
    let mut names: Vec<&str> = want.sections.iter().map(|(n, _)| n.as_str()).collect();
    for (n, _) in &got.sections {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    for name in names {
        let (w, g) = (want.section(name), got.section(name));
        if w != g {
            diffs.push((
                name.to_string(),
                w.unwrap_or("(not run)\n").to_string(),
                g.unwrap_or("(not run)\n").to_string(),
            ));
        }
    }
    if want.stderr != got.stderr {
        diffs.push(("stderr".into(), want.stderr.clone(), got.stderr.clone()));
    }
    diffs
}

fn excerpt(text: &str) -> String {
    const LINES: usize = 8;
    let lines: Vec<&str> = text.lines().collect();
    let mut out: String = lines
        .iter()
        .take(LINES)
        .map(|l| format!("      | {l}\n"))
        .collect();
    if lines.len() > LINES {
        out.push_str(&format!(
            "      | ... ({} more lines)\n",
            lines.len() - LINES
        ));
    }
    if lines.is_empty() {
        out.push_str("      | (nothing)\n");
    }
    out
}

/// Runs `guest` under every setting (side by side) and compares each with
/// the same run without the sandbox; panics with a table of the settings
/// and the differences of each one that differs.
fn compare_settings(
    test: &str,
    s: &Setup,
    settings: &[Setting],
    want: &Run,
    run: &(dyn Fn(Setting) -> Run + Sync),
) {
    let runs: Vec<Result<Run, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = settings
            .iter()
            .map(|&setting| scope.spawn(move || run(setting)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().map_err(|e| {
                    e.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".into())
                })
            })
            .collect()
    });
    let mut table = String::new();
    let mut details = String::new();
    let mut bad = 0;
    for (setting, run) in settings.iter().zip(&runs) {
        let label = setting.label();
        match run {
            Err(e) => {
                bad += 1;
                let first = e.lines().next().unwrap_or("");
                table.push_str(&format!("  {label:<34} FAILED TO RUN: {first}\n"));
                details.push_str(&format!("--- {label}: the run failed:\n{e}\n"));
            }
            Ok(got) => {
                let diffs = differences(want, got);
                if diffs.is_empty() {
                    table.push_str(&format!("  {label:<34} same as without the sandbox\n"));
                    continue;
                }
                bad += 1;
                let killer = got
                    .culprit
                    .as_ref()
                    .map(|c| format!(" (its own {c})"))
                    .unwrap_or_default();
                let not_run: Vec<&str> = diffs
                    .iter()
                    .filter(|(_, _, g)| g == "(not run)\n")
                    .map(|(w, _, _)| w.as_str())
                    .collect();
                let differ: Vec<&str> = diffs
                    .iter()
                    .map(|(w, _, _)| w.as_str())
                    .filter(|w| *w != "sproot" && *w != "stderr" && !not_run.contains(w))
                    .collect();
                let mut verdict = format!("DIFFERS: sproot {}{killer}", got.status);
                if got.sections.is_empty() {
                    verdict.push_str(", and nothing on stdout");
                } else {
                    if !differ.is_empty() {
                        verdict.push_str(&format!(
                            "; {} of {} workloads differ: {}",
                            differ.len(),
                            want.sections.len(),
                            differ.join(", ")
                        ));
                    }
                    if !not_run.is_empty() {
                        verdict.push_str(&format!("; not run: {}", not_run.join(", ")));
                    }
                }
                table.push_str(&format!("  {label:<34} {verdict}\n"));
                for (what, w, g) in &diffs {
                    // sproot's own exit is in the table already.
                    if what == "sproot" || not_run.contains(&what.as_str()) {
                        continue;
                    }
                    details.push_str(&format!(
                        "--- {label}: {what}\n    without the sandbox:\n{}    under it:\n{}",
                        excerpt(w),
                        excerpt(g)
                    ));
                }
            }
        }
    }
    assert!(
        bad == 0,
        "{test}: {bad} of {} sandbox settings differ from the run without the sandbox \
         (as uid {}, {ARCH}):\n{table}\n{details}",
        settings.len(),
        s.uid
    );
    eprintln!("{test} (as uid {}, {ARCH}):\n{table}", s.uid);
}

/// Every release's policy, on the host's kernel or under a kernel mask.
fn every_release(kernel: Option<&'static str>) -> Vec<Setting> {
    RELEASES
        .iter()
        .map(|&p| Setting {
            policy: Some(p),
            kernel,
        })
        .collect()
}

fn workloads_matrix(test: &str, settings: &[Setting]) {
    let Some(s) = setup(test) else { return };
    let want = baseline(s);
    compare_settings(test, s, settings, want, &|setting| {
        run_workloads(s, setting)
    });
}

#[test]
fn guests_run_under_every_android_release_policy() {
    let settings = every_release(None);
    workloads_matrix("guests_run_under_every_android_release_policy", &settings);
}

#[test]
fn guests_run_under_every_android_release_policy_on_a_4_14_kernel() {
    let settings = every_release(Some("4.14"));
    workloads_matrix(
        "guests_run_under_every_android_release_policy_on_a_4_14_kernel",
        &settings,
    );
}

#[test]
fn guests_run_on_old_android_kernels_without_the_policy() {
    let settings: Vec<Setting> = KERNELS
        .iter()
        .map(|&k| Setting {
            policy: None,
            kernel: Some(k),
        })
        .collect();
    workloads_matrix(
        "guests_run_on_old_android_kernels_without_the_policy",
        &settings,
    );
}

#[test]
fn sysv_ipc_is_shared_by_two_guest_processes_under_every_android_release_policy() {
    let test = "sysv_ipc_is_shared_by_two_guest_processes_under_every_android_release_policy";
    let Some(s) = setup(test) else { return };
    let guest = ["/usr/local/bin/android-sysv-ipc"];
    let want = run_guest(s, NO_SANDBOX, &guest, "/nonexistent");
    assert_eq!(
        (want.status.as_str(), want.sections.len()),
        ("exit 0", 1),
        "SysV IPC without the sandbox:\n{}\n{}",
        want.sections.first().map(|(_, b)| b.as_str()).unwrap_or(""),
        want.stderr
    );
    assert_eq!(
        want.sections[0].1, "shm: from the child; msg: hello; child: 0\n",
        "SysV IPC without the sandbox"
    );
    let settings = every_release(None);
    compare_settings(test, s, &settings, &want, &|setting| {
        run_guest(s, setting, &guest, "/nonexistent")
    });
}

/// A guest program's text under each of `settings` must be its text
/// without the sandbox, which must exit 0 and contain `sure` (so that a
/// program that did not run cannot pass).
fn program_matrix(test: &str, program: &str, sure: &str, settings: &[Setting]) {
    let Some(s) = setup(test) else { return };
    let guest = [program];
    let want = run_guest(s, NO_SANDBOX, &guest, "/nonexistent");
    assert_eq!(want.status, "exit 0", "{}", want.stderr);
    let body = want.sections.first().map(|(_, b)| b.as_str()).unwrap_or("");
    assert!(body.contains(sure), "{body}");
    compare_settings(test, s, settings, &want, &|setting| {
        run_guest(s, setting, &guest, "/nonexistent")
    });
}

/// Every release's policy, on this kernel and on a 4.14 one.
fn every_release_and_4_14() -> Vec<Setting> {
    let mut settings = every_release(None);
    settings.extend(every_release(Some("4.14")));
    settings
}

/// The whole of what a program sees of SysV IPC (tests/sysvipc.rs checks
/// it against the kernel's), with waits, timeouts, signals and removal,
/// the same under every release's policy (where every IPC call is trapped
/// and the waits run as equivalents of the trapped calls), on this kernel
/// and on a 4.14 one.
#[test]
fn sysv_ipc_answers_the_same_under_every_android_release_policy() {
    program_matrix(
        "sysv_ipc_answers_the_same_under_every_android_release_policy",
        "/usr/local/bin/android-sysv-semantics",
        "waiter got EIDRM: yes",
        &every_release_and_4_14(),
    );
}

/// `statx` called directly: Android 8.0 and 10 trap it, and sproot answers
/// with `newfstatat`'s result made a `struct statx`; 12 and later allow it.
/// The same text under every policy, on this kernel and on 4.14.
#[test]
fn statx_answers_the_same_under_every_android_release_policy() {
    program_matrix(
        "statx_answers_the_same_under_every_android_release_policy",
        "/usr/local/bin/android-statx",
        "/etc/passwd: mask has basic 1",
        &every_release_and_4_14(),
    );
}

/// `faccessat2` (`AT_EACCESS`, `AT_SYMLINK_NOFOLLOW`) and `fchmodat2`
/// (`AT_SYMLINK_NOFOLLOW`) called directly: where a release traps them,
/// sproot runs `faccessat`/`fchmodat` and does the no-follow rule itself.
/// The same text under every policy (a 4.14 kernel had neither call: its
/// ENOSYS is the right answer there, so it is not compared).
#[test]
fn at_flags_answer_the_same_under_every_android_release_policy() {
    program_matrix(
        "at_flags_answer_the_same_under_every_android_release_policy",
        "/usr/local/bin/android-at-flags",
        "fchmodat2 link NOFOLLOW: EOPNOTSUPP",
        &every_release(None),
    );
}
