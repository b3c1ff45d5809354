//! `-v`: the core's messages (`log`) and the runtime's own, on stderr as
//! `sproot <level>: message`, as the launcher writes its own.

use core::fmt::Write;

use log::{Log, Metadata, Record};

struct Stderr;

static LOGGER: Stderr = Stderr;

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = sproot_core::verbosity::word(record.level());
        let mut line = alloc::string::String::new();
        let _ = writeln!(line, "sproot {level}: {}", record.args());
        crate::sys::write_all(2, line.as_bytes());
    }

    fn flush(&self) {}
}

/// `-v`'s level, as the launcher maps it.
pub fn init(verbose: i8) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(sproot_core::verbosity::level_for(i32::from(verbose)));
}
