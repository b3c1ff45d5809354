//! The environment variables sproot reads (besides those clap reads for
//! options), read once: the command line (`cli.rs`) names them in `--help`
//! and `-V`, the configuration (`config.rs`) applies them.

use std::path::PathBuf;

/// The environment variables sproot reads (besides those clap reads for
/// options: `PROOT_VERBOSE`, `SPROOT_SPIN_US`, `SPROOT_PLACEMENT`), read
/// once, here.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `PROOT_NO_SECCOMP` set to something other than empty or `0`.
    pub no_seccomp: bool,
    /// `PROOT_TMP_DIR`, else `TMPDIR`, else the build's default
    /// (`SPROOT_DEFAULT_TMP_DIR` when sproot was built, e.g. Termux's
    /// `$PREFIX/tmp`; else `/tmp`).
    pub tmp_dir: PathBuf,
    /// `PROOT_LOADER`: an installed copy of sproot's exec loader, used
    /// instead of extracting one.
    pub loader: Option<PathBuf>,
    /// `PROOT_L2S_DIR`, if set and not empty.
    pub l2s_dir: Option<PathBuf>,
    /// `SPROOT_CHAOS=<seed>`: chaos mode's seed.
    pub chaos_seed: Option<u64>,
    /// `SPROOT_BARE_STOPS=1`: the benchmark floor (every trapped syscall
    /// resumed untouched but exec).
    pub bare_stops: bool,
    /// `PROOT_FORCE_FOREIGN_BINARY` set to something other than empty or
    /// `0`: with `-q`, every program runs under QEMU.
    pub force_foreign: bool,
}

impl Environment {
    /// Read the variables from sproot's environment.
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let chaos_seed = var("SPROOT_CHAOS").and_then(|v| {
            let v = v.to_string_lossy().into_owned();
            match v.trim().parse::<u64>() {
                Ok(seed) => Some(seed),
                Err(_) => {
                    log::warn!("SPROOT_CHAOS={v:?} is not a number; chaos mode off");
                    None
                }
            }
        });
        Environment {
            no_seccomp: var("PROOT_NO_SECCOMP").is_some_and(|v| v != "0"),
            tmp_dir: var("PROOT_TMP_DIR")
                .or_else(|| var("TMPDIR"))
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(option_env!("SPROOT_DEFAULT_TMP_DIR").unwrap_or("/tmp"))
                }),
            loader: var("PROOT_LOADER").map(PathBuf::from),
            l2s_dir: var(crate::ext::link2symlink::L2S_DIR_ENV).map(PathBuf::from),
            chaos_seed,
            bare_stops: var("SPROOT_BARE_STOPS").is_some_and(|v| v == "1"),
            force_foreign: var("PROOT_FORCE_FOREIGN_BINARY").is_some_and(|v| v != "0"),
        }
    }
}
