use anyhow::{Context, Result};
use sproot::cli::{self, Cli};
use sproot::config::Config;
use sproot::tracer::placement::Placement;
use sproot::tracer::{self, Tracer, spawn};
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;

/// The guest's environment: sproot's own, with `PWD` naming the guest's
/// initial working directory (as PRoot sets it).
fn guest_env(cwd: &[u8]) -> Result<Vec<CString>> {
    let mut env: Vec<CString> = Vec::new();
    for (k, v) in std::env::vars_os() {
        if k == "PWD" {
            continue;
        }
        let mut kv: OsString = k;
        kv.push("=");
        kv.push(v);
        // A variable with a NUL byte cannot be passed on; execvp would not either.
        if let Ok(c) = CString::new(kv.into_vec()) {
            env.push(c);
        }
    }
    let mut pwd = b"PWD=".to_vec();
    pwd.extend_from_slice(cwd);
    env.push(CString::new(pwd).context("working directory contains a NUL byte")?);
    Ok(env)
}

fn run(cli: Cli) -> Result<i32> {
    let cfg = Config::from_cli(&cli)?;
    // PROOT_LOADER, else where a package installed the loader (built in
    // with SPROOT_DEFAULT_LOADER; silently skipped when it is not there).
    let installed = match cfg.loader.as_deref() {
        Some(p) => sproot::exec::installed_loader(p)
            .inspect_err(|e| log::warn!("PROOT_LOADER: {e:#}; extracting sproot's own loader"))
            .ok(),
        None => option_env!("SPROOT_DEFAULT_LOADER")
            .and_then(|p| sproot::exec::installed_loader(std::path::Path::new(p)).ok()),
    };
    let loader = match installed {
        Some(p) => p,
        None => sproot::exec::install_loader(&cfg.tmp_dir)
            .with_context(|| format!("install the exec loader in {}", cfg.tmp_dir.display()))?,
    };
    let first = match cfg.first_command() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sproot error: {}", e.message);
            return Ok(e.status);
        }
    };
    let tracer_for = sproot::inproc::needs_tracer(&cfg);
    let inproc = cli.engine.runs_inproc(&cfg);
    if log::log_enabled!(log::Level::Info) {
        for line in cfg.summary(&first, &loader, inproc) {
            log::info!("{line}");
        }
    }
    if cli.engine != sproot::inproc::Engine::Ptrace
        && let Some(opt) = tracer_for
    {
        log::info!("{opt} needs a tracer: the ptrace engine runs this session");
    }
    if inproc {
        let status = sproot::inproc::run(&cfg, first, guest_env(&cfg.cwd)?, &loader);
        if let Some(g) = &cfg.glue {
            let _ = std::fs::remove_dir_all(g);
        }
        return status;
    }
    let host_cwd = cfg.view.to_host(&cfg.cwd);
    let launch = spawn::Launch {
        program: CString::new(first.program).context("command contains a NUL byte")?,
        argv: first
            .argv
            .into_iter()
            .map(CString::new)
            .collect::<Result<_, _>>()
            .context("argument contains a NUL byte")?,
        env: guest_env(&cfg.cwd)?,
        host_cwd: CString::new(host_cwd).context("working directory contains a NUL byte")?,
        filters: cfg
            .seccomp
            .then(|| sproot::seccomp::Prepared::for_config(&cfg)),
    };
    tracer::affinity::init();
    if cfg.placement == Placement::Pinned && !tracer::affinity::pin_self() {
        log::warn!("--placement=pinned: cannot tell which CPU sproot runs on; not pinned");
    }
    let first = spawn::spawn(&launch)?;
    tracer::signals::install(first.as_raw());
    let mut t = Tracer::new(&cfg, loader, first);
    let status = t.run();
    if let Some(g) = &cfg.glue {
        let _ = std::fs::remove_dir_all(g);
    }
    let status = status?;
    if let Some(dest) = &cfg.stats {
        tracer::report_stats(&t.stats, dest);
    }
    Ok(status)
}

/// sproot's own `SIGSYS` handler, installed before Rust's runtime makes
/// its first syscall (`poll` on x86_64): under Android's app policy some of
/// the calls musl and the runtime make are trapped (seccomp/own_trap.rs).
#[used]
#[unsafe(link_section = ".init_array")]
static INSTALL_OWN_TRAP: extern "C" fn() = {
    extern "C" fn install() {
        sproot::seccomp::own_trap::install();
    }
    install
};

fn main() {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            let (text, code) = cli::error_report(&e);
            if code == 0 {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            std::process::exit(code);
        }
    };
    if cli.version {
        print!("{}", cli::version_text());
        std::process::exit(0);
    }
    sproot::logger::init(cli.verbose.unwrap_or(0));
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sproot error: {e:#}");
            std::process::exit(1);
        }
    }
}
