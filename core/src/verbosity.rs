//! PRoot's `-v` levels and sproot's words for them, for the launcher's
//! logger and the runtime's alike (`sproot <level>: message`).

use log::{Level, LevelFilter};

/// Map PRoot's `-v` levels onto `log` levels: negative is errors only, 0
/// (the default) adds warnings, 1 info, 2 debug (path translations), 3
/// and more trace (every stopped call).
pub fn level_for(verbose: i32) -> LevelFilter {
    match verbose {
        i32::MIN..=-1 => LevelFilter::Error,
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// The word a message of `level` starts with, after `sproot `.
pub fn word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}
