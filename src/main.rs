use anyhow::{Context, Result, bail};
use clap::Parser;
use sproot::cli::Cli;
use sproot::config::Config;
use sproot::fs::{GuestView, TracerProc};
use sproot::tracer::placement::Placement;
use sproot::tracer::{self, Tracer, spawn};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The guest path of the command: as given when it has a `/`, else the
/// first executable match in `$PATH` searched inside the guest.
fn find_command(view: &GuestView, cmd: &[u8]) -> Result<Vec<u8>> {
    if cmd.contains(&b'/') {
        return Ok(cmd.to_vec());
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        let mut guest = dir.as_bytes().to_vec();
        guest.push(b'/');
        guest.extend_from_slice(cmd);
        if let Ok(r) = view.resolve(&TracerProc, b"/", &guest, true)
            && let Ok(m) = std::fs::metadata(&r.host)
            && m.is_file()
            && m.permissions().mode() & 0o111 != 0
        {
            return Ok(guest);
        }
    }
    bail!(
        "{}: command not found in the guest's PATH ({path})",
        String::from_utf8_lossy(cmd)
    )
}

fn run(cli: Cli) -> Result<i32> {
    let cfg = Config::from_cli(&cli)?;
    let loader = sproot::exec::install_loader(&cfg.tmp_dir)
        .with_context(|| format!("install the exec loader in {}", cfg.tmp_dir.display()))?;
    let argv = cfg.argv();
    let program = match find_command(&cfg.view, &argv[0]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sproot error: {e:#}");
            return Ok(127);
        }
    };
    let host_cwd = cfg.view.to_host(&cfg.cwd);
    let launch = spawn::Launch {
        program: CString::new(program).context("command contains a NUL byte")?,
        argv: argv
            .into_iter()
            .map(CString::new)
            .collect::<Result<_, _>>()
            .context("argument contains a NUL byte")?,
        host_cwd: CString::new(host_cwd.as_os_str().as_bytes())
            .context("working directory contains a NUL byte")?,
        filters: cfg
            .seccomp
            .then(|| sproot::seccomp::Prepared::with_extensions(cfg.ext.needs_ext_filter())),
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

fn main() {
    let cli = match Cli::try_parse_from(sproot::cli::normalize_args(std::env::args_os().collect()))
    {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    sproot::logger::init(cli.verbose.unwrap_or(0));
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sproot error: {e:#}");
            std::process::exit(1);
        }
    }
}
