//! sproot's benchmark suite: real workloads in a Debian rootfs, natively
//! (chroot, the limit), under classic PRoot (the peer) and under sproot,
//! interleaved, with medians, ratios and ptrace stop counts.
//!
//!     scripts/bench.sh [WORKLOAD...]            (= cargo bench --bench suite -- [WORKLOAD...])
//!     cargo bench --bench suite -- --list       (workloads and modes)
//!
//! Environment:
//!   SPROOT_DEBIAN_ROOTFS   rootfs (default /var/cache/sproot/debian-bookworm; scripts/mkrootfs-debian.sh)
//!   SPROOT_BENCH_RUNS      timed runs per mode and workload (default 5), after one warm-up
//!   SPROOT_BENCH_MODES     comma-separated modes (default: native,proot,sproot,sproot-noseccomp)
//!   SPROOT_BENCH_TIMEOUT   per-run timeout in seconds (default: the workload's, 120)
//!   SPROOT_BENCH_OUT       where RESULTS.md, ratios.svg, runs.tsv go (default: benches/results for the
//!                          full default suite, target/bench-results when filtered)
//!   SPROOT_BIN, SPROOT_BENCH_PROOT   the binaries to measure (default: this build's sproot, `proot` in PATH)
//!
//! Needs root. See benches/README.md.

#[path = "suite/env.rs"]
mod env;
#[path = "suite/fixtures.rs"]
mod fixtures;
#[path = "suite/modes.rs"]
mod modes;
#[path = "suite/report.rs"]
mod report;
#[path = "suite/runner.rs"]
mod runner;
#[path = "suite/workloads.rs"]
mod workloads;

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn usage() -> String {
    let mut s = String::from(
        "usage: cargo bench --bench suite [-- [--list] [WORKLOAD...]]   (or scripts/bench.sh [WORKLOAD...])\n\nworkloads:\n",
    );
    for w in workloads::all_workloads() {
        s.push_str(&format!("  {:<14} {}\n", w.name, w.about));
    }
    s.push_str("\nmodes (SPROOT_BENCH_MODES; * = default):\n");
    for m in modes::all_modes() {
        s.push_str(&format!(
            "  {}{:<17} {}\n",
            if m.default_on { "*" } else { " " },
            m.name,
            m.about
        ));
    }
    s
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let t0 = Instant::now();
    let mut names = vec![];
    for a in std::env::args().skip(1) {
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--list" | "--help" | "-h" => {
                print!("{}", usage());
                return Ok(());
            }
            s if s.starts_with('-') => {}
            s => names.push(s.to_string()),
        }
    }
    let all = workloads::all_workloads();
    let selected: Vec<workloads::Workload> = if names.is_empty() {
        all.clone()
    } else {
        for n in &names {
            if !all.iter().any(|w| w.name == n) {
                bail!("unknown workload {n:?}\n\n{}", usage());
            }
        }
        all.iter()
            .filter(|w| names.iter().any(|n| n == w.name))
            .cloned()
            .collect()
    };
    let modes = modes::selected_modes()?;
    let default_modes = modes.iter().map(|m| m.name).eq(modes::all_modes()
        .iter()
        .filter(|m| m.default_on)
        .map(|m| m.name));
    let filtered = !names.is_empty() || !default_modes;

    let env = env::Env::discover()?;
    let info = env::MachineInfo::collect(&env);
    eprintln!(
        "bench: rootfs {}, sproot {}, proot {}, {} runs per mode",
        env.rootfs.display(),
        env.sproot.display(),
        env.proot
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or("(not installed: column skipped)".into()),
        env.runs
    );
    for m in &modes {
        if let Err(why) = m.available(&env) {
            eprintln!("bench: note: mode {} skipped: {why}", m.name);
        }
    }

    let mut needed = vec![];
    for w in &selected {
        for f in w.fixtures {
            if !needed.contains(f) {
                needed.push(*f);
            }
        }
    }
    fixtures::prepare(&env, &needed)?;
    runner::mount_run_tmpfs(&env)?;

    let out_dir = match std::env::var("SPROOT_BENCH_OUT")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(d) => PathBuf::from(d),
        None if filtered => env.repo.join("target/bench-results"),
        None => env.repo.join("benches/results"),
    };
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let raw_path = out_dir.join("runs.tsv");
    let mut raw = std::io::BufWriter::new(std::fs::File::create(&raw_path)?);
    writeln!(raw, "{}", runner::RAW_HEADER)?;

    let mut results = vec![];
    for w in &selected {
        let r = runner::run_workload(&env, w, &modes, &mut raw)?;
        raw.flush()?;
        results.push(r);
    }
    runner::clean_guest_tmp(&env);
    drop(raw);

    let report = report::Report {
        env: &env,
        info: &info,
        modes: &modes,
        results: &results,
        total: t0.elapsed(),
        loadavg_end: env::loadavg(),
        filtered,
    };
    let md = report.markdown();
    std::fs::write(out_dir.join("RESULTS.md"), &md)?;
    std::fs::write(out_dir.join("ratios.svg"), report.svg())?;
    println!("{md}");
    eprintln!(
        "bench: wrote {0}/RESULTS.md, {0}/ratios.svg, {0}/runs.tsv ({1:.1} min in all)",
        out_dir.display(),
        t0.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
