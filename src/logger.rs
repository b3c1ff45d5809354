//! A small `log` backend: `sproot <level>: message` on stderr.

use log::{Log, Metadata, Record};
use std::io::Write;

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = sproot_core::verbosity::word(record.level());
        let _ = writeln!(std::io::stderr(), "sproot {level}: {}", record.args());
    }

    fn flush(&self) {}
}

pub use sproot_core::verbosity::level_for;

pub fn init(verbose: i32) {
    // A second call (tests) keeps the first logger; the level still updates.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level_for(verbose));
}
