//! Where things are: the rootfs, the tracers, the results directory, and the
//! machine the numbers come from.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const DEFAULT_ROOTFS: &str = "/var/cache/sproot/debian-bookworm";
pub const DEFAULT_RUNS: usize = 5;
/// A run that takes longer than this is killed and reported as TIMEOUT.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Env {
    /// The repository (where Cargo.toml is).
    pub repo: PathBuf,
    pub rootfs: PathBuf,
    pub sproot: PathBuf,
    /// `None` when no `proot` is installed: its column is skipped with a note.
    pub proot: Option<PathBuf>,
    /// termux's PRoot: `SPROOT_BENCH_TERMUX_PROOT`, else
    /// `target/peers/proot-termux` (where `scripts/bench.sh` builds it).
    pub termux_proot: Option<PathBuf>,
    pub runs: usize,
    /// Per-run timeout override (`SPROOT_BENCH_TIMEOUT`, seconds); workloads
    /// have their own default otherwise.
    pub timeout: Option<Duration>,
    /// Host scratch directory for the runs' stdout/stderr/--stats files.
    pub scratch: PathBuf,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub fn discover() -> Result<Env> {
        if unsafe { libc::geteuid() } != 0 {
            bail!(
                "the benchmark suite must run as root: the native baseline is a real chroot(2) into the \
                 rootfs (in a private mount namespace). Try: sudo scripts/bench.sh"
            );
        }
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

        let rootfs = PathBuf::from(
            env_nonempty("SPROOT_DEBIAN_ROOTFS").unwrap_or_else(|| DEFAULT_ROOTFS.to_string()),
        );
        for probe in [
            "bin/sh",
            "usr/bin/node",
            "usr/bin/npm",
            "usr/bin/python3",
            "usr/bin/gcc",
        ] {
            if !rootfs.join(probe).exists() {
                bail!(
                    "no usable Debian rootfs at {} (missing /{probe}). Build it with \
                     `sudo scripts/mkrootfs-debian.sh` (it prints the path; export \
                     SPROOT_DEBIAN_ROOTFS=<that path> if it is not the default {DEFAULT_ROOTFS})",
                    rootfs.display()
                );
            }
        }
        let rootfs = rootfs
            .canonicalize()
            .context("canonicalising the rootfs path")?;

        let sproot = find_sproot(&repo)?;
        let proot = match env_nonempty("SPROOT_BENCH_PROOT") {
            Some(p) => Some(PathBuf::from(p)),
            None => which("proot"),
        };

        let termux_proot = match env_nonempty("SPROOT_BENCH_TERMUX_PROOT") {
            Some(p) => Some(PathBuf::from(p)),
            None => Some(repo.join("target/peers/proot-termux")).filter(|p| is_executable(p)),
        };

        let runs = match env_nonempty("SPROOT_BENCH_RUNS") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .with_context(|| format!("SPROOT_BENCH_RUNS={v:?}: expected a positive integer"))?,
            None => DEFAULT_RUNS,
        };
        let timeout = match env_nonempty("SPROOT_BENCH_TIMEOUT") {
            Some(v) => Some(Duration::from_secs_f64(
                v.parse::<f64>()
                    .ok()
                    .filter(|&s| s > 0.0)
                    .with_context(|| format!("SPROOT_BENCH_TIMEOUT={v:?}: expected seconds"))?,
            )),
            None => None,
        };

        let scratch = std::env::temp_dir().join(format!("sproot-bench.{}", std::process::id()));
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;

        Ok(Env {
            repo,
            rootfs,
            sproot,
            proot,
            termux_proot,
            runs,
            timeout,
            scratch,
        })
    }

    /// Host path of a guest path.
    pub fn host(&self, guest: &str) -> PathBuf {
        self.rootfs.join(guest.trim_start_matches('/'))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The sproot binary: `SPROOT_BIN` if set; else the one Cargo built next to
/// this bench (`cargo bench` builds the package's binaries first, so it is
/// current); else `target/release/sproot`, built with `cargo build --release`
/// when missing.
fn find_sproot(repo: &Path) -> Result<PathBuf> {
    if let Some(p) = env_nonempty("SPROOT_BIN") {
        let p = PathBuf::from(p);
        if !is_executable(&p) {
            bail!("SPROOT_BIN={} is not an executable file", p.display());
        }
        return Ok(p);
    }
    if let Some(p) = option_env!("CARGO_BIN_EXE_sproot") {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    let p = repo.join("target/release/sproot");
    if !is_executable(&p) {
        eprintln!("bench: {} is missing: cargo build --release", p.display());
        let st = Command::new("cargo")
            .args(["build", "--release", "--bin", "sproot"])
            .current_dir(repo)
            .status()
            .context("running cargo build --release")?;
        if !st.success() || !is_executable(&p) {
            bail!("cargo build --release did not produce {}", p.display());
        }
    }
    Ok(p)
}

/// Facts about the machine and the software measured, for the report.
pub struct MachineInfo {
    pub kernel: String,
    pub cpu: String,
    pub nproc: usize,
    pub date: String,
    pub loadavg_start: String,
    pub sproot_version: String,
    pub proot_version: String,
    pub termux_proot_version: String,
}

fn cmd_line(prog: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(prog).args(args).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?
        .to_string();
    Some(line)
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

impl MachineInfo {
    pub fn collect(env: &Env) -> MachineInfo {
        let kernel = cmd_line("uname", &["-r"]).unwrap_or_else(|| "?".into());
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "?".into());
        let nproc = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let date = cmd_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "?".into());
        let mut sproot_version = cmd_line(env.sproot.to_str().unwrap_or("sproot"), &["--version"])
            .unwrap_or_else(|| "?".into());
        // Which commit was measured (read-only git queries).
        let repo = env.repo.to_str().unwrap_or(".");
        if let Some(rev) = cmd_line("git", &["-C", repo, "rev-parse", "--short", "HEAD"]) {
            let dirty = Command::new("git")
                .args([
                    "-C",
                    repo,
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                    "--",
                    "src",
                ])
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(false);
            sproot_version = format!(
                "{sproot_version} (commit {rev}{})",
                if dirty {
                    ", with uncommitted changes in src/"
                } else {
                    ""
                }
            );
        }
        let proot_version = match &env.proot {
            Some(p) => proot_version_line(
                p,
                cmd_line("dpkg-query", &["-W", "-f", "${Version}", "proot"]),
            ),
            None => "not installed".into(),
        };
        let termux_proot_version = match &env.termux_proot {
            Some(p) => proot_version_line(p, None),
            None => "not found".into(),
        };
        MachineInfo {
            kernel,
            cpu,
            nproc,
            date,
            loadavg_start: loadavg(),
            sproot_version,
            proot_version,
            termux_proot_version,
        }
    }
}

/// A classic PRoot's version line: its path, the version from its banner,
/// the Debian package (`deb`) and its built-in accelerators (Debian builds
/// it without seccomp: that decides what its column measures).
fn proot_version_line(p: &Path, deb: Option<String>) -> String {
    let out = Command::new(p).arg("--version").output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // Classic PRoot prints an ASCII-art banner ending with its version.
    let v = text
        .split_whitespace()
        .map(|t| t.trim_start_matches('v'))
        .find(|t| {
            t.split('.').count() >= 2
                && t.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|t| format!("v{t}"));
    let accel = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("built-in accelerators"))
        .map(|l| format!("; {l}"))
        .unwrap_or_default();
    let version = match (v, deb) {
        (Some(v), Some(d)) => format!("{} {v} (Debian package {d})", p.display()),
        (Some(v), None) => format!("{} {v}", p.display()),
        (None, Some(d)) => format!("{} (Debian package {d})", p.display()),
        (None, None) => p.display().to_string(),
    };
    format!("{version}{accel}")
}
