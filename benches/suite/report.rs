//! Medians, ratios, the Markdown report and the SVG chart.

use crate::env::{Env, MachineInfo};
use crate::modes::{Engine, Mode};
use crate::runner::{Cell, Outcome, WorkloadResult};
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Summary {
    Skipped(String),
    Timeout,
    Failed(String),
    Ok {
        median: f64,
        min: f64,
        max: f64,
        /// Median sproot stops, if the mode reports them.
        stops: Option<f64>,
        /// Median clone/fork/vfork events.
        clones: Option<f64>,
        /// Median of per-run stops / clone-fork-vfork.
        stops_per_clone: Option<f64>,
        newborn_before_parent: Option<f64>,
    },
}

pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn summarize(cell: &Cell) -> Summary {
    let (warmup, runs) = match cell {
        Cell::Skipped(why) => return Summary::Skipped(why.clone()),
        Cell::Ran { warmup, runs } => (warmup, runs),
    };
    match &warmup.outcome {
        Outcome::Timeout => return Summary::Timeout,
        Outcome::Failed(e) => return Summary::Failed(format!("{e} (warm-up)")),
        Outcome::Ok => {}
    }
    if runs.iter().any(|r| r.outcome == Outcome::Timeout) {
        return Summary::Timeout;
    }
    let failed: Vec<&String> = runs
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(e) => Some(e),
            _ => None,
        })
        .collect();
    if let Some(first) = failed.first() {
        return Summary::Failed(format!("{first} ({} of {} runs)", failed.len(), runs.len()));
    }
    if runs.is_empty() {
        return Summary::Skipped("no timed runs".into());
    }
    let walls: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
    let stat = |k: &str| -> Option<f64> {
        let v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.stats.get(k).copied())
            .collect();
        median(&v)
    };
    let per_clone: Vec<f64> = runs
        .iter()
        .filter_map(|r| {
            let c = *r.stats.get("clone-fork-vfork")?;
            (c > 0.0).then(|| r.stats.get("stops").map(|s| s / c))?
        })
        .collect();
    Summary::Ok {
        median: median(&walls).unwrap(),
        min: walls.iter().copied().fold(f64::INFINITY, f64::min),
        max: walls.iter().copied().fold(0.0, f64::max),
        stops: stat("stops"),
        clones: stat("clone-fork-vfork"),
        stops_per_clone: median(&per_clone),
        newborn_before_parent: stat("newborn-before-parent"),
    }
}

fn med(s: &Summary) -> Option<f64> {
    match s {
        Summary::Ok { median, .. } => Some(*median),
        _ => None,
    }
}

fn secs(t: f64) -> String {
    if t < 10.0 {
        format!("{t:.3}")
    } else {
        format!("{t:.1}")
    }
}

fn ratio(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}")
    } else {
        format!("{r:.1}")
    }
}

fn count(n: f64) -> String {
    // 1234567 -> 1,234,567
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short(s: &Summary) -> String {
    match s {
        Summary::Skipped(_) => "skipped".into(),
        Summary::Timeout => "TIMEOUT".into(),
        Summary::Failed(_) => "FAILED".into(),
        Summary::Ok {
            median, min, max, ..
        } => format!("{} ({}–{})", secs(*median), secs(*min), secs(*max)),
    }
}

/// Everything the report needs.
pub struct Report<'a> {
    pub env: &'a Env,
    pub info: &'a MachineInfo,
    pub modes: &'a [Mode],
    pub results: &'a [WorkloadResult],
    pub total: Duration,
    pub loadavg_end: String,
    pub filtered: bool,
}

impl Report<'_> {
    fn idx(&self, name: &str) -> Option<usize> {
        self.modes.iter().position(|m| m.name == name)
    }
    fn native_idx(&self) -> usize {
        self.modes
            .iter()
            .position(|m| m.engine == Engine::Native)
            .expect("native mode")
    }
    fn summaries(&self, r: &WorkloadResult) -> Vec<Summary> {
        r.cells.iter().map(summarize).collect()
    }

    /// Total runtime, and what it would be with the default number of runs.
    pub fn runtime(&self) -> String {
        let mut timed = 0.0;
        for r in self.results {
            for c in &r.cells {
                if let Cell::Ran { runs, .. } = c {
                    timed += runs.iter().map(|x| x.wall.as_secs_f64()).sum::<f64>();
                }
            }
        }
        let total = self.total.as_secs_f64();
        let mut s = format!("{:.1} min", total / 60.0);
        let d = crate::env::DEFAULT_RUNS;
        if self.env.runs != d {
            let projected = (total - timed) + timed * d as f64 / self.env.runs as f64;
            s.push_str(&format!(
                " (about {:.1} min with the default {d} runs)",
                projected / 60.0
            ));
        }
        s
    }

    /// The main table.
    pub fn table(&self) -> String {
        let ni = self.native_idx();
        let others: Vec<usize> = (0..self.modes.len()).filter(|&i| i != ni).collect();
        let (pi, si) = (self.idx("proot"), self.idx("sproot"));
        let stop_modes: Vec<usize> = (0..self.modes.len())
            .filter(|&i| self.modes[i].engine == Engine::Sproot)
            .collect();
        let mut h = vec!["workload".to_string()];
        for m in self.modes {
            h.push(format!("{} (s)", m.name));
        }
        for &i in &others {
            h.push(format!("{} ÷ native", self.modes[i].name));
        }
        if pi.is_some() && si.is_some() {
            h.push("sproot ÷ proot".into());
        }
        h.push("target (sproot ÷ native)".into());
        for &i in &stop_modes {
            h.push(format!("{} stops", self.modes[i].name));
        }
        let mut out = String::new();
        writeln!(out, "| {} |", h.join(" | ")).unwrap();
        writeln!(
            out,
            "|{}",
            h.iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
                .collect::<String>()
        )
        .unwrap();
        for r in self.results {
            let s = self.summaries(r);
            let mut row = vec![format!("`{}`", r.workload.name)];
            for (i, m) in self.modes.iter().enumerate() {
                let dagger = if r.mismatches.iter().any(|(mm, _, _)| mm == m.name) {
                    " †"
                } else {
                    ""
                };
                row.push(format!("{}{dagger}", short(&s[i])));
            }
            let nat = med(&s[ni]);
            for &i in &others {
                row.push(match (med(&s[i]), nat) {
                    (Some(a), Some(b)) => ratio(a / b),
                    _ => match &s[i] {
                        Summary::Ok { .. } => "–".into(),
                        other => short(other),
                    },
                });
            }
            if let (Some(pi), Some(si)) = (pi, si) {
                row.push(match (med(&s[si]), med(&s[pi])) {
                    (Some(a), Some(b)) => ratio(a / b),
                    _ => "–".into(),
                });
            }
            row.push(match r.workload.target {
                None => "–".into(),
                Some(t) => {
                    let got = si.and_then(|si| Some(med(&s[si])? / nat?));
                    match got {
                        Some(g) if g <= t => format!("≤ {t}: met"),
                        Some(_) => format!("≤ {t}: missed"),
                        None => format!("≤ {t}"),
                    }
                }
            });
            for &i in &stop_modes {
                row.push(match &s[i] {
                    Summary::Ok {
                        stops: Some(st), ..
                    } => count(*st),
                    _ => "–".into(),
                });
            }
            writeln!(out, "| {} |", row.join(" | ")).unwrap();
        }
        out
    }

    /// Stops per thread created, next to wall times.
    pub fn thread_table(&self) -> Option<String> {
        let rows: Vec<&WorkloadResult> =
            self.results.iter().filter(|r| r.workload.threads).collect();
        if rows.is_empty() {
            return None;
        }
        let si = self.idx("sproot")?;
        let wall_modes: Vec<usize> = ["native", "proot", "sproot"]
            .iter()
            .filter_map(|n| self.idx(n))
            .collect();
        let mut h = vec!["workload".to_string()];
        for &i in &wall_modes {
            h.push(format!("{} (s)", self.modes[i].name));
        }
        h.extend(
            [
                "threads + processes created (clone/fork/vfork events)",
                "sproot stops",
                "sproot stops per thread",
                "newborn stops before parent's event",
            ]
            .map(String::from),
        );
        let mut out = String::new();
        writeln!(out, "| {} |", h.join(" | ")).unwrap();
        writeln!(out, "|---|{}", "---:|".repeat(h.len() - 1)).unwrap();
        for r in rows {
            let s = self.summaries(r);
            let mut row = vec![format!("`{}`", r.workload.name)];
            for &i in &wall_modes {
                row.push(short(&s[i]));
            }
            match &s[si] {
                Summary::Ok {
                    stops,
                    clones,
                    stops_per_clone,
                    newborn_before_parent,
                    ..
                } => {
                    row.push(clones.map(count).unwrap_or("–".into()));
                    row.push(stops.map(count).unwrap_or("–".into()));
                    row.push(
                        stops_per_clone
                            .map(|v| format!("{v:.2}"))
                            .unwrap_or("–".into()),
                    );
                    row.push(newborn_before_parent.map(count).unwrap_or("–".into()));
                }
                other => row.extend(std::iter::repeat_n(short(other), 4)),
            }
            writeln!(out, "| {} |", row.join(" | ")).unwrap();
        }
        Some(out)
    }

    /// Failures, timeouts, skips and output mismatches.
    pub fn notes(&self) -> String {
        let mut out = String::new();
        for r in self.results {
            let s = self.summaries(r);
            for (i, m) in self.modes.iter().enumerate() {
                match &s[i] {
                    Summary::Failed(e) => writeln!(
                        out,
                        "- `{}` under {}: **FAILED**: `{}`",
                        r.workload.name,
                        m.name,
                        e.replace('`', "'")
                    )
                    .unwrap(),
                    Summary::Timeout => writeln!(
                        out,
                        "- `{}` under {}: **TIMEOUT** (killed after {} s)",
                        r.workload.name,
                        m.name,
                        self.env.timeout.unwrap_or(r.workload.timeout).as_secs()
                    )
                    .unwrap(),
                    Summary::Skipped(why) => {
                        writeln!(out, "- `{}` under {}: {why}", r.workload.name, m.name).unwrap()
                    }
                    Summary::Ok { .. } => {}
                }
            }
            for (m, k, what) in &r.mismatches {
                let run = if *k == 0 {
                    "warm-up".to_string()
                } else {
                    format!("run {k}")
                };
                writeln!(
                    out,
                    "- `{}` under {m} ({run}): † output differs from native: {what}",
                    r.workload.name
                )
                .unwrap();
            }
        }
        if out.is_empty() {
            out.push_str(
                "- none: every workload ran and matched native's output under every mode.\n",
            );
        }
        out
    }

    pub fn markdown(&self) -> String {
        let e = self.env;
        let i = self.info;
        let mut out = String::new();
        writeln!(out, "# sproot benchmark results\n").unwrap();
        writeln!(
            out,
            "Produced by `scripts/bench.sh` (= `cargo bench --bench suite`){} on {}. \
             Each workload ran once per mode untimed (warm-up), then {} time{} per mode, interleaved \
             (native, proot, sproot, ..., native, ...). Times are wall-clock seconds: median (min–max). \
             Ratios are of medians. Lower is better.\n",
            if self.filtered { " with a workload or mode filter" } else { "" },
            i.date,
            e.runs,
            if e.runs == 1 { "" } else { "s" }
        )
        .unwrap();
        writeln!(out, "## Machine\n").unwrap();
        writeln!(out, "- kernel: `{}`", i.kernel).unwrap();
        writeln!(out, "- CPU: {} × {} (nproc)", i.cpu, i.nproc).unwrap();
        writeln!(
            out,
            "- load average (1/5/15 min) at start: {}; at end: {}",
            i.loadavg_start, self.loadavg_end
        )
        .unwrap();
        writeln!(out, "- date: {}", i.date).unwrap();
        writeln!(
            out,
            "- rootfs: `{}` (Debian bookworm, scripts/mkrootfs-debian.sh)",
            e.rootfs.display()
        )
        .unwrap();
        writeln!(out, "- runs per mode and workload: {} (+1 warm-up)", e.runs).unwrap();
        writeln!(
            out,
            "- sproot: `{}` {}",
            e.sproot.display(),
            i.sproot_version
        )
        .unwrap();
        writeln!(out, "- proot: {}", i.proot_version).unwrap();
        writeln!(out, "- termux-proot: {}", i.termux_proot_version).unwrap();
        writeln!(out, "- total suite runtime: {}\n", self.runtime()).unwrap();
        writeln!(out, "## Wall time and ratios\n").unwrap();
        out.push_str(&self.table());
        writeln!(
            out,
            "\n\"target\" is issue 5's target for sproot's ratio to native. \"stops\" is the median number of \
             ptrace stops the tracer took (`sproot --stats`). † = output differed from native (see notes).\n"
        )
        .unwrap();
        writeln!(
            out,
            "![ratio to native chroot per workload, proot and sproot](ratios.svg)\n"
        )
        .unwrap();
        if let Some(t) = self.thread_table() {
            writeln!(out, "## Threads\n").unwrap();
            writeln!(
                out,
                "Stops per thread created = sproot's stops ÷ its clone/fork/vfork events (both medians per run). \
                 Issue 3's ceiling is 3 (clone event, newborn stop, exit report) plus the thread's own \
                 path syscalls (one `stat` each here).\n"
            )
            .unwrap();
            out.push_str(&t);
            out.push('\n');
        }
        writeln!(out, "## Failures, timeouts, skips\n").unwrap();
        out.push_str(&self.notes());
        writeln!(out, "\n## Workloads\n").unwrap();
        for r in self.results {
            let w = &r.workload;
            let envs = if w.env.is_empty() {
                String::new()
            } else {
                format!(
                    " (env: {})",
                    w.env
                        .iter()
                        .map(|(k, v)| format!("`{k}={v}`"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            writeln!(out, "- `{}`: {}{envs}", w.name, w.about).unwrap();
        }
        writeln!(out, "\n## Modes\n").unwrap();
        for m in self.modes {
            let extra = if m.extra_args.is_empty() {
                String::new()
            } else {
                format!(" `{}`", m.extra_args.join(" "))
            };
            writeln!(out, "- `{}`: {}{extra}", m.name, m.about).unwrap();
        }
        writeln!(
            out,
            "\nFixtures live in the rootfs under `/opt/sproot-bench/` (made once, natively). \
             Per-run numbers (wall, CPU of the whole process tree, stops) are in `runs.tsv`."
        )
        .unwrap();
        out
    }

    pub fn svg(&self) -> String {
        let ni = self.native_idx();
        let series: Vec<(usize, &str, &str)> = [("proot", "#e08214"), ("sproot", "#2166ac")]
            .iter()
            .filter_map(|(n, c)| Some((self.idx(n)?, *n, *c)))
            .collect();
        struct Row {
            name: String,
            target: Option<f64>,
            vals: Vec<Result<f64, String>>,
        }
        let rows: Vec<Row> = self
            .results
            .iter()
            .map(|r| {
                let s = self.summaries(r);
                let nat = med(&s[ni]);
                Row {
                    name: r.workload.name.to_string(),
                    target: r.workload.target,
                    vals: series
                        .iter()
                        .map(|&(i, _, _)| match (med(&s[i]), nat) {
                            (Some(a), Some(b)) => Ok(a / b),
                            (_, None) => Err("native failed".into()),
                            _ => Err(short(&s[i])),
                        })
                        .collect(),
                }
            })
            .collect();
        let max = rows
            .iter()
            .flat_map(|r| r.vals.iter().filter_map(|v| v.as_ref().ok().copied()))
            .fold(1.0, f64::max);
        let lo: f64 = 0.5;
        let mut hi: f64 = 4.0;
        while hi < max && hi < 256.0 {
            hi *= 2.0;
        }
        let (left, plot_w, right) = (150.0, 600.0, 90.0);
        let width = left + plot_w + right;
        let (top, bar_h, gap, row_gap) = (92.0, 13.0, 3.0, 14.0);
        let row_h = series.len() as f64 * (bar_h + gap) - gap + row_gap;
        let plot_h = rows.len() as f64 * row_h;
        let height = top + plot_h + 44.0;
        let x = |r: f64| {
            left + (r.max(lo).min(hi).log2() - lo.log2()) / (hi.log2() - lo.log2()) * plot_w
        };
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };

        let mut o = String::new();
        writeln!(
            o,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"##
        )
        .unwrap();
        writeln!(o, r##"<rect width="100%" height="100%" fill="white"/>"##).unwrap();
        writeln!(
            o,
            r##"<text x="{}" y="22" font-size="15" font-weight="bold" text-anchor="middle">Slowdown vs. native chroot (ratio of median wall times, log scale; lower is better)</text>"##,
            width / 2.0
        )
        .unwrap();
        writeln!(
            o,
            r##"<text x="{}" y="40" font-size="11" fill="#555" text-anchor="middle">{}</text>"##,
            width / 2.0,
            esc(&format!(
                "median of {} run{} per mode, interleaved · {} × {} · Linux {} · {}",
                self.env.runs,
                if self.env.runs == 1 { "" } else { "s" },
                self.info.cpu,
                self.info.nproc,
                self.info.kernel,
                self.info.date
            ))
        )
        .unwrap();
        // Legend.
        let mut lx = left;
        for &(_, name, color) in &series {
            let label =
                if name == "proot" && self.info.proot_version.contains("seccomp_filter = no") {
                    "proot (Debian 5.1.0: built without seccomp)".to_string()
                } else {
                    name.to_string()
                };
            writeln!(
                o,
                r##"<rect x="{lx}" y="52" width="12" height="12" fill="{color}"/>"##
            )
            .unwrap();
            writeln!(
                o,
                r##"<text x="{}" y="62">{}</text>"##,
                lx + 17.0,
                esc(&label)
            )
            .unwrap();
            lx += 30.0 + 6.6 * label.chars().count() as f64;
        }
        if rows.iter().any(|r| r.target.is_some()) {
            writeln!(
                o,
                r##"<line x1="{lx}" y1="50" x2="{lx}" y2="66" stroke="#d62728" stroke-width="2" stroke-dasharray="3,2"/>"##
            )
            .unwrap();
            writeln!(
                o,
                r##"<text x="{}" y="62">target for sproot (issue 5)</text>"##,
                lx + 6.0
            )
            .unwrap();
        }
        // Row bands, then the grid over them.
        for k in (1..rows.len()).step_by(2) {
            let y0 = top + k as f64 * row_h;
            writeln!(
                o,
                r##"<rect x="0" y="{:.1}" width="{width}" height="{row_h:.1}" fill="#f4f4f4"/>"##,
                y0 - row_gap / 2.0
            )
            .unwrap();
        }
        // Grid.
        let mut g = lo;
        while g <= hi * 1.0001 {
            let gx = x(g);
            let (stroke, sw) = if (g - 1.0).abs() < 1e-9 {
                ("#222", 1.5)
            } else {
                ("#ccc", 1.0)
            };
            writeln!(
                o,
                r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{}" stroke="{stroke}" stroke-width="{sw}"/>"##,
                top - 8.0,
                top + plot_h
            )
            .unwrap();
            let label = if g < 1.0 {
                format!("{g}x")
            } else {
                format!("{g:.0}x")
            };
            writeln!(
                o,
                r##"<text x="{gx:.1}" y="{}" text-anchor="middle" fill="#333">{label}</text>"##,
                top + plot_h + 16.0
            )
            .unwrap();
            g *= 2.0;
        }
        writeln!(
            o,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11" fill="#222">= native</text>"##,
            x(1.0),
            top - 12.0
        )
        .unwrap();
        writeln!(
            o,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#555">time ÷ native chroot time</text>"##,
            left + plot_w / 2.0,
            top + plot_h + 34.0
        )
        .unwrap();
        // Bars.
        for (k, row) in rows.iter().enumerate() {
            let y0 = top + k as f64 * row_h;
            let band = row_h - row_gap;
            if let Some(t) = row.target {
                let tx = x(t);
                writeln!(
                    o,
                    r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#d62728" stroke-width="2" stroke-dasharray="3,2"><title>target: at most {t}x</title></line>"##,
                    y0 - 3.0,
                    y0 + band + 3.0
                )
                .unwrap();
            }
            writeln!(
                o,
                r##"<text x="{}" y="{:.1}" text-anchor="end" font-family="DejaVu Sans Mono, monospace" font-size="13">{}</text>"##,
                left - 10.0,
                y0 + band / 2.0 + 4.5,
                esc(&row.name)
            )
            .unwrap();
            for (j, (&(_, name, color), v)) in series.iter().zip(&row.vals).enumerate() {
                let y = y0 + j as f64 * (bar_h + gap);
                match v {
                    Ok(r) => {
                        let w = (x(*r) - x(lo)).max(1.0);
                        writeln!(
                            o,
                            r##"<rect x="{:.1}" y="{y:.1}" width="{w:.1}" height="{bar_h}" fill="{color}"><title>{name}: {r:.2}x native</title></rect>"##,
                            x(lo)
                        )
                        .unwrap();
                        let capped = if *r > hi { "&gt; " } else { "" };
                        writeln!(
                            o,
                            r##"<text x="{:.1}" y="{:.1}" font-size="11" stroke="white" stroke-width="3" paint-order="stroke">{capped}{}x</text>"##,
                            x(lo) + w + 4.0,
                            y + bar_h - 2.5,
                            ratio(*r)
                        )
                        .unwrap();
                    }
                    Err(why) => {
                        writeln!(
                            o,
                            r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="{color}" font-style="italic">{name}: {}</text>"##,
                            x(lo) + 4.0,
                            y + bar_h - 2.5,
                            esc(why)
                        )
                        .unwrap();
                    }
                }
            }
        }
        writeln!(o, "</svg>").unwrap();
        o
    }
}
