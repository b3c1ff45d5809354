//! Running workloads: one run under a timeout, and the interleaved schedule
//! (warm-up each mode once, then native, proot, sproot, ..., native, ...).

use crate::env::Env;
use crate::fixtures::NPM_PROJECT;
use crate::modes::{Engine, Mode};
use crate::workloads::{Check, FreshDir, Workload};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A warm-up slower than this skips the mode's timed runs for the workload.
pub const SLOW_SKIP: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Ok,
    /// Non-zero exit or killed by a signal: description and first stderr line.
    Failed(String),
    Timeout,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub outcome: Outcome,
    pub wall: Duration,
    /// User + system CPU time of the run's whole process tree (tracer included).
    pub cpu: Duration,
    /// sproot's `--stats` counters.
    pub stats: BTreeMap<String, f64>,
    /// What `Check` compares: stdout, or the number of files left in the fresh dir.
    pub fingerprint: Option<String>,
}

/// What happened to one (workload, mode) pair.
#[derive(Clone, Debug)]
pub enum Cell {
    /// Not run: why (mode unavailable, skipped as too slow, ...).
    Skipped(String),
    Ran {
        warmup: Run,
        runs: Vec<Run>,
    },
}

pub struct WorkloadResult {
    pub workload: Workload,
    /// Indexed like the mode list.
    pub cells: Vec<Cell>,
    /// Runs whose output differed from native's: (mode, run index, what).
    pub mismatches: Vec<(String, usize, String)>,
}

/// The first line of stderr, and, when that line does not say what went wrong
/// (Node.js starts with the throwing source line), the first line that does.
fn first_line(path: &Path) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(50)
        .collect();
    let Some(first) = lines.first() else {
        return "(no stderr)".into();
    };
    let clip = |l: &str| -> String {
        let mut s: String = l.chars().take(200).collect();
        if s.len() < l.len() {
            s.push('…');
        }
        s
    };
    let says_error = |l: &str| {
        let l = l.to_ascii_lowercase();
        l.contains("error")
            || l.contains("cannot")
            || l.contains("fatal")
            || l.contains("no such file")
    };
    match lines.iter().find(|l| says_error(l)) {
        Some(e) if !says_error(first) => format!("{} … {}", clip(first), clip(e)),
        _ => clip(first),
    }
}

pub fn parse_stats(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (k, v) = (it.next()?, it.next()?);
            if it.next().is_some() {
                return None;
            }
            Some((k.to_string(), v.parse::<f64>().ok()?))
        })
        .collect()
}

fn count_files(dir: &Path) -> u64 {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(_) => n += 1,
                Err(_) => {}
            }
        }
    }
    n
}

/// Kill the run's process group (and the leader, in case it left it).
fn kill_run(pid: libc::pid_t) {
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
}

/// One run of `w` under `mode`. `tag` names its scratch files.
pub fn run_once(env: &Env, w: &Workload, mode: &Mode, tag: &str) -> Result<Run> {
    // Fresh directory (untimed).
    let guest_dir = format!("{RUN_DIR}/{}-{}-{}", w.name, mode.name, tag);
    let host_dir = env.host(&guest_dir);
    if w.fresh != FreshDir::None {
        if host_dir.exists() {
            fs::remove_dir_all(&host_dir)?;
        }
        fs::create_dir_all(&host_dir)?;
        if w.fresh == FreshDir::NpmProject {
            for f in ["package.json", "package-lock.json"] {
                fs::copy(env.host(NPM_PROJECT).join(f), host_dir.join(f))
                    .with_context(|| format!("copying {NPM_PROJECT}/{f}"))?;
            }
        }
    }
    let argv: Vec<String> = w
        .argv
        .iter()
        .map(|a| a.replace("{dir}", &guest_dir))
        .collect();
    let out_path = env
        .scratch
        .join(format!("{}.{}.{tag}.out", w.name, mode.name));
    let err_path = env
        .scratch
        .join(format!("{}.{}.{tag}.err", w.name, mode.name));
    let stats_path: Option<PathBuf> =
        (mode.engine == Engine::Sproot && !mode.is_inproc).then(|| {
            env.scratch
                .join(format!("{}.{}.{tag}.stats", w.name, mode.name))
        });
    if let Some(s) = &stats_path {
        let _ = fs::remove_file(s);
    }
    let mut cmd = mode.command(env, &argv, &w.env, stats_path.as_deref());
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?);
    let timeout = env.timeout.unwrap_or(w.timeout);

    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("spawning {} for {}", mode.name, w.name))?;
    let pid = child.id() as libc::pid_t;
    // The watchdog kills the run if it outlives the timeout.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
            kill_run(pid);
            true
        } else {
            false
        }
    });
    // wait4 rather than Child::wait, for the rusage of the whole tree.
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e).context("wait4");
        }
    }
    let wall = start.elapsed();
    drop(child); // already reaped: dropping a Child neither waits nor kills
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    // Leftovers of a killed run (daemons, guests that left the group) must not
    // disturb the next one.
    if timed_out {
        kill_run(pid);
    }

    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
    let outcome = if timed_out {
        Outcome::Timeout
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Outcome::Ok
    } else {
        let how = if libc::WIFEXITED(status) {
            format!("exit {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("signal {}", libc::WTERMSIG(status))
        } else {
            format!("status {status:#x}")
        };
        Outcome::Failed(format!("{how}: {}", first_line(&err_path)))
    };
    let stats = stats_path
        .as_ref()
        .and_then(|p| fs::read_to_string(p).ok())
        .map(|t| parse_stats(&t))
        .unwrap_or_default();
    let fingerprint = match w.check {
        Check::Status => None,
        Check::Stdout => {
            let s = fs::read(&out_path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            Some(s.trim().chars().take(300).collect())
        }
        Check::DirFiles => Some(format!("{} files", count_files(&host_dir))),
    };

    // Clean up (untimed).
    if w.fresh != FreshDir::None && host_dir.exists() {
        fs::remove_dir_all(&host_dir)
            .with_context(|| format!("removing {}", host_dir.display()))?;
    }
    for p in [&out_path, &err_path] {
        let _ = fs::remove_file(p);
    }
    if let Some(s) = &stats_path {
        let _ = fs::remove_file(s);
    }
    Ok(Run {
        outcome,
        wall,
        cpu,
        stats,
        fingerprint,
    })
}

fn describe(r: &Run) -> String {
    let stops = r
        .stats
        .get("stops")
        .map(|s| format!(", {s} stops"))
        .unwrap_or_default();
    match &r.outcome {
        Outcome::Ok => format!("{:.3} s{stops}", r.wall.as_secs_f64()),
        Outcome::Timeout => format!("TIMEOUT after {:.0} s", r.wall.as_secs_f64()),
        Outcome::Failed(e) => format!("FAILED after {:.3} s: {e}", r.wall.as_secs_f64()),
    }
}

/// Warm up every mode once, then N interleaved rounds.
pub fn run_workload(
    env: &Env,
    w: &Workload,
    modes: &[Mode],
    raw: &mut impl std::io::Write,
) -> Result<WorkloadResult> {
    let mut cells: Vec<Cell> = modes
        .iter()
        .map(|m| match m.available(env) {
            Err(why) => Cell::Skipped(why),
            Ok(()) if m.is_bare && !w.bare_ok => {
                Cell::Skipped("skipped: bare stops run untranslated on the host".into())
            }
            Ok(()) if m.is_noseccomp && w.noseccomp_skip.is_some() && !noseccomp_all() => {
                Cell::Skipped(format!("skipped: {}", w.noseccomp_skip.unwrap()))
            }
            Ok(()) => Cell::Ran {
                warmup: placeholder(),
                runs: vec![],
            },
        })
        .collect();
    let mut live: Vec<bool> = cells
        .iter()
        .map(|c| matches!(c, Cell::Ran { .. }))
        .collect();

    for (i, m) in modes.iter().enumerate() {
        if !live[i] {
            continue;
        }
        let r = run_once(env, w, m, "warmup")?;
        eprintln!(
            "bench: {:<13} {:<17} warm-up  {}",
            w.name,
            m.name,
            describe(&r)
        );
        writeln!(raw, "{}", raw_line(w, m, "warmup", &r))?;
        // A failed or hung warm-up is the finding: don't repeat it N times.
        let slow = r.outcome == Outcome::Ok && r.wall > SLOW_SKIP;
        if r.outcome != Outcome::Ok || slow {
            live[i] = false;
        }
        cells[i] = if slow {
            Cell::Skipped(format!(
                "skipped: warm-up took {:.0} s (> {} s)",
                r.wall.as_secs_f64(),
                SLOW_SKIP.as_secs()
            ))
        } else {
            Cell::Ran {
                warmup: r,
                runs: vec![],
            }
        };
    }
    for round in 0..env.runs {
        for (i, m) in modes.iter().enumerate() {
            if !live[i] {
                continue;
            }
            let r = run_once(env, w, m, &format!("run{round}"))?;
            eprintln!(
                "bench: {:<13} {:<17} run {}/{}  {}",
                w.name,
                m.name,
                round + 1,
                env.runs,
                describe(&r)
            );
            writeln!(raw, "{}", raw_line(w, m, &format!("{}", round + 1), &r))?;
            if let Cell::Ran { runs, .. } = &mut cells[i] {
                runs.push(r);
            }
        }
    }

    // Outputs must match native's.
    let mut mismatches = vec![];
    let native_fp = modes
        .iter()
        .position(|m| m.engine == Engine::Native)
        .and_then(|i| match &cells[i] {
            Cell::Ran { warmup, .. } if warmup.outcome == Outcome::Ok => warmup.fingerprint.clone(),
            _ => None,
        });
    if let Some(nfp) = native_fp {
        for (i, m) in modes.iter().enumerate() {
            if let Cell::Ran { warmup, runs } = &cells[i] {
                for (k, r) in std::iter::once(warmup).chain(runs.iter()).enumerate() {
                    if r.outcome == Outcome::Ok && r.fingerprint.as_ref().is_some_and(|f| *f != nfp)
                    {
                        mismatches.push((
                            m.name.to_string(),
                            k,
                            format!(
                                "got {:?}, native gave {:?}",
                                r.fingerprint.as_deref().unwrap_or(""),
                                nfp
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(WorkloadResult {
        workload: w.clone(),
        cells,
        mismatches,
    })
}

/// `SPROOT_BENCH_NOSECCOMP_ALL=1` runs `sproot --no-seccomp` on every workload.
fn noseccomp_all() -> bool {
    std::env::var("SPROOT_BENCH_NOSECCOMP_ALL").is_ok_and(|v| v == "1")
}

fn placeholder() -> Run {
    Run {
        outcome: Outcome::Ok,
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        stats: BTreeMap::new(),
        fingerprint: None,
    }
}

pub const RAW_HEADER: &str =
    "workload\tmode\trun\toutcome\twall_s\tcpu_s\tstops\tclone_fork_vfork\tdetail";

fn raw_line(w: &Workload, m: &Mode, run: &str, r: &Run) -> String {
    let (oc, detail) = match &r.outcome {
        Outcome::Ok => ("ok", String::new()),
        Outcome::Timeout => ("timeout", String::new()),
        Outcome::Failed(e) => ("failed", e.replace(['\t', '\n'], " ")),
    };
    let stat = |k: &str| r.stats.get(k).map(|v| v.to_string()).unwrap_or_default();
    format!(
        "{}\t{}\t{run}\t{oc}\t{:.4}\t{:.4}\t{}\t{}\t{detail}",
        w.name,
        m.name,
        r.wall.as_secs_f64(),
        r.cpu.as_secs_f64(),
        stat("stops"),
        stat("clone-fork-vfork")
    )
}

/// Guest directory holding the per-run directories.
pub const RUN_DIR: &str = "/tmp/sproot-bench";

/// Put the per-run directories on a tmpfs, in a mount namespace private to
/// this process and its children (gone when the suite exits).
///
/// Why: extracting thousands of files into ext4 right after deleting the
/// previous run's tree makes ext4's inode allocator scan past recently
/// deleted inodes (`recently_deleted` in `find_inode_bit`): seconds of system
/// time that swamp the tracer overhead being measured, for native runs too.
pub fn mount_run_tmpfs(env: &Env) -> Result<()> {
    let dir = env.host(RUN_DIR);
    if dir.exists() {
        // Left over by an interrupted suite (on disk, outside any namespace).
        let _ = fs::remove_dir_all(&dir);
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let check = |r: libc::c_int, what: &str| -> Result<()> {
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error()).context(what.to_string())
        }
    };
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS), "unshare(CLONE_NEWNS)")?;
        check(
            libc::mount(
                std::ptr::null(),
                c(Path::new("/")).as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ),
            "making / private",
        )?;
        let opts = std::ffi::CString::new("mode=1777,size=4g").unwrap();
        check(
            libc::mount(
                c(Path::new("tmpfs")).as_ptr(),
                c(&dir).as_ptr(),
                c(Path::new("tmpfs")).as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                opts.as_ptr().cast(),
            ),
            "mounting a tmpfs for the per-run directories",
        )?;
    }
    Ok(())
}

/// Empty the per-run directory.
pub fn clean_guest_tmp(env: &Env) {
    if let Ok(rd) = fs::read_dir(env.host(RUN_DIR)) {
        for e in rd.flatten() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}
