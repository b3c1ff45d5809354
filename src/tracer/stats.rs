//! Counts of ptrace stops by kind, printed at exit with `--stats`.

use std::fmt;

#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub seccomp: u64,
    pub syscall_entry: u64,
    pub syscall_exit: u64,
    pub clone_events: u64,
    pub exec_events: u64,
    pub other_events: u64,
    pub newborn_stops: u64,
    /// Newborn stops that arrived before their parent's clone event.
    pub newborn_before_parent: u64,
    pub signal_stops: u64,
    /// `SIGSYS` stops of calls an outer seccomp filter trapped.
    pub outer_traps: u64,
    pub group_stops: u64,
    pub exits: u64,
    pub batches: u64,
    pub events: u64,
    pub largest_batch: u64,
}

impl Stats {
    pub fn total_stops(&self) -> u64 {
        self.seccomp
            + self.syscall_entry
            + self.syscall_exit
            + self.clone_events
            + self.exec_events
            + self.other_events
            + self.newborn_stops
            + self.signal_stops
            + self.outer_traps
            + self.group_stops
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sproot stats:")?;
        let rows: [(&str, u64); 15] = [
            ("stops", self.total_stops()),
            ("seccomp", self.seccomp),
            ("syscall-entry", self.syscall_entry),
            ("syscall-exit", self.syscall_exit),
            ("clone-fork-vfork", self.clone_events),
            ("exec", self.exec_events),
            ("other-events", self.other_events),
            ("newborn", self.newborn_stops),
            ("newborn-before-parent", self.newborn_before_parent),
            ("signal", self.signal_stops),
            ("outer-trap", self.outer_traps),
            ("group-stop", self.group_stops),
            ("exits", self.exits),
            ("batches", self.batches),
            ("events", self.events),
        ];
        for (k, v) in rows {
            writeln!(f, "  {k:<22} {v}")?;
        }
        let per = if self.batches == 0 {
            0.0
        } else {
            self.events as f64 / self.batches as f64
        };
        writeln!(f, "  {:<22} {per:.2}", "events-per-batch")?;
        write!(f, "  {:<22} {}", "largest-batch", self.largest_batch)
    }
}

/// Print the stats where `--stats` asked.
pub fn report_stats(stats: &Stats, dest: &str) {
    let text = format!("{stats}\n");
    if dest == "-" {
        eprint!("{text}");
    } else if let Err(e) = std::fs::write(std::path::Path::new(dest), text) {
        log::error!("write stats to {dest}: {e}");
    }
}
