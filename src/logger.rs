//! A small `log` backend: `sproot <level>: message` on stderr.

use log::{Level, LevelFilter, Log, Metadata, Record};
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
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let _ = writeln!(std::io::stderr(), "sproot {level}: {}", record.args());
    }

    fn flush(&self) {}
}

/// Map PRoot's `-v` levels onto `log` levels: negative is errors only, 0
/// (the default) adds warnings, 1 info, 2 debug, 3 and more trace.
pub fn level_for(verbose: i32) -> LevelFilter {
    match verbose {
        i32::MIN..=-1 => LevelFilter::Error,
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

pub fn init(verbose: i32) {
    // A second call (tests) keeps the first logger; the level still updates.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level_for(verbose));
}
