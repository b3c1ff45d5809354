//! The validated, immutable run configuration built from the command line.

use crate::cli::Cli;
pub use crate::environment::Environment;
use crate::fs::{AsHostPath, Binding, GuestView, TracerProc};
use anyhow::{Context, Result, anyhow, bail};
use nix::errno::Errno;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The PRoot extensions a run uses.
#[derive(Clone, Debug, Default)]
pub struct Ext {
    /// `-0` (0:0) or `-i UID:GID`: the ids the guest sees.
    pub fake_id: Option<(u32, u32)>,
    /// `-k`, parsed.
    pub kernel_release: Option<crate::ext::kernel_release::KernelRelease>,
    /// `-l`: hard links emulated with symlinks.
    pub link2symlink: bool,
    /// `-L`: symlink sizes as their guest target's length.
    pub symlink_sizes: bool,
    /// `-H`: hide `.proot*` entries from directory listings.
    pub hide_proot: bool,
    /// `-p`, `-p N:M`, `-n`: how guests' ports move.
    pub ports: crate::ext::net::Ports,
    /// `-q`: the QEMU user-mode command foreign programs run under.
    pub qemu: Option<crate::exec::Runner>,
    /// `--sysvipc`: SysV IPC emulated for the run (`ext::sysvipc`).
    pub sysvipc: bool,
    /// `--ashmem-memfd`: accepted; Android only.
    pub ashmem_memfd: bool,
    /// `--persist-ownership`: fake `chown`s stored in a user xattr.
    pub persist_ownership: bool,
}

impl Ext {
    /// Whether stat results are rewritten (every stat must then stop).
    pub fn rewrites_stat(&self) -> bool {
        self.fake_id.is_some() || self.symlink_sizes || self.link2symlink
    }

    /// Whether the extended seccomp filter is needed.
    pub fn needs_ext_filter(&self) -> bool {
        self.rewrites_stat() || self.kernel_release.is_some() || self.hide_proot
    }
}

/// Where the first guest program starts and what it runs.
pub struct Config {
    /// Host directory that the guest sees as `/`.
    pub root: PathBuf,
    /// Root plus bindings, used for every translation.
    pub view: GuestView,
    /// The guest's initial working directory (guest path).
    pub cwd: Vec<u8>,
    /// The guest command and its arguments (argv[0] included).
    pub command: Vec<OsString>,
    pub kill_on_exit: bool,
    pub verbose: i32,
    /// Use the seccomp filter (false: plain ptrace syscall stops).
    pub seccomp: bool,
    /// Where to print stop statistics at exit ("-" is stderr).
    pub stats: Option<String>,
    /// Where the exec loader is extracted.
    pub tmp_dir: PathBuf,
    /// An installed exec loader to use instead (`PROOT_LOADER`).
    pub loader: Option<PathBuf>,
    /// The temporary "glue" tree that stands in for directories leading to
    /// a binding but missing from the rootfs; removed at exit.
    pub glue: Option<PathBuf>,
    /// Longest poll of `waitpid` before blocking, in microseconds (0: off).
    pub spin_us: u64,
    /// The PRoot extensions in use.
    pub ext: Ext,
    /// Where the tracer and the guests run.
    pub placement: crate::tracer::placement::Placement,
    /// `-l`: where link2symlink's files go (`PROOT_L2S_DIR`).
    pub l2s_dir: Option<PathBuf>,
    /// Chaos mode's seed (`SPROOT_CHAOS`).
    pub chaos_seed: Option<u64>,
    /// The benchmark floor (`SPROOT_BARE_STOPS=1`).
    pub bare_stops: bool,
}

/// Host paths `-R` binds, when they exist on the host (PRoot's list).
const RECOMMENDED: &[&str] = &[
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/hosts.equiv",
    "/etc/mtab",
    "/etc/netgroup",
    "/etc/networks",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/resolv.conf",
    "/etc/localtime",
    "/dev",
    "/sys",
    "/proc",
    "/tmp",
    "/run",
    "/var/run/dbus/system_bus_socket",
];

/// Host paths `-S` binds, when they exist on the host (PRoot's list).
const SAFE: &[&str] = &[
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/dev",
    "/sys",
    "/proc",
    "/tmp",
    "/run/shm",
];

/// A `-b` argument split into its parts.
#[derive(Debug, PartialEq, Eq)]
pub struct BindSpec {
    /// The argument as given, for messages.
    pub text: String,
    pub host: String,
    pub guest: Option<String>,
    /// The `!` suffix: bind the guest location literally.
    pub literal: bool,
}

/// Split `HOST[:GUEST[!]]`. The first `:` separates the two sides.
pub fn parse_bind(spec: &str) -> Result<BindSpec> {
    if spec.is_empty() {
        bail!("empty binding");
    }
    let (host, guest) = match spec.split_once(':') {
        Some((h, g)) => (h, Some(g)),
        None => (spec, None),
    };
    if host.is_empty() {
        bail!("binding {spec:?}: empty host path");
    }
    let (guest, literal) = match guest {
        Some(g) if g.ends_with('!') => (Some(g.trim_end_matches('!')), true),
        Some(g) => (Some(g), false),
        None => (None, false),
    };
    if guest == Some("") {
        bail!("binding {spec:?}: empty guest path");
    }
    Ok(BindSpec {
        text: spec.to_string(),
        host: host.to_string(),
        guest: guest.map(str::to_string),
        literal,
    })
}

/// Make a host path absolute and canonical. Paths under `/proc` are only
/// made absolute: canonicalising `/proc/self/...` here would name sproot's
/// own process instead of the guest's.
fn host_path(p: &str) -> std::io::Result<PathBuf> {
    let abs = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        std::env::current_dir()?.join(p)
    };
    std::fs::symlink_metadata(&abs)?;
    if abs.starts_with("/proc") {
        let lexical = crate::fs::normalize_lexical(abs.as_os_str().as_bytes());
        return Ok(PathBuf::from(OsString::from_vec(lexical)));
    }
    std::fs::canonicalize(&abs)
}

/// An I/O error as a short phrase ("does not exist" rather than "No such
/// file or directory (os error 2)").
fn io_problem(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".into(),
        _ => match e.raw_os_error() {
            Some(n) => Errno::from_raw(n).desc().to_lowercase(),
            None => e.to_string(),
        },
    }
}

/// Make the directories that lead to a binding but are missing from the
/// rootfs visible: each highest missing one is created in a temporary glue
/// tree (with the path down to the binding point) and bound at its place, so
/// the guest can `stat`, list and `cd` through it. The binding itself still
/// wins by longest prefix. Returns the glue tree, if one was needed.
fn add_glue(view: &mut GuestView, bindings: &[Binding], tmp_dir: &Path) -> Result<Option<PathBuf>> {
    let mut glue: Option<PathBuf> = None;
    for b in bindings {
        let comps: Vec<&[u8]> = b
            .guest
            .split(|&c| c == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        let mut prefix: Vec<u8> = Vec::new();
        for (k, c) in comps.iter().enumerate() {
            prefix.push(b'/');
            prefix.extend_from_slice(c);
            if k + 1 == comps.len() {
                break;
            }
            if std::fs::symlink_metadata(view.to_host(&prefix).as_path()).is_ok() {
                continue;
            }
            let root = match &glue {
                Some(g) => g.clone(),
                None => {
                    let g = tmp_dir.join(format!("sproot-glue-{}", std::process::id()));
                    std::fs::create_dir_all(&g)
                        .with_context(|| format!("create glue directory {}", g.display()))?;
                    glue = Some(g.clone());
                    g
                }
            };
            let host_of = |guest: &[u8]| root.join(OsStr::from_bytes(&guest[1..]));
            let point = host_of(&b.guest);
            if let Some(parent) = point.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("create glue directory {}", parent.display()))?;
            }
            if b.host.as_path().is_dir() {
                std::fs::create_dir_all(&point)
            } else {
                std::fs::write(&point, b"")
            }
            .with_context(|| format!("create glue entry {}", point.display()))?;
            let glue_binding = Binding {
                host: host_of(&prefix).into_os_string().into_vec(),
                guest: prefix.clone(),
            };
            if !view.bindings().iter().any(|x| x.guest == prefix) {
                view.add_binding(glue_binding);
            }
            break;
        }
    }
    Ok(glue)
}

impl Config {
    /// The configuration of a run from its command line, with the
    /// environment of this process.
    pub fn from_cli(cli: &Cli) -> Result<Config> {
        Self::from_cli_env(cli, Environment::from_process())
    }

    pub fn from_cli_env(cli: &Cli, env: Environment) -> Result<Config> {
        let root = match &cli.root {
            Some(r) => {
                let p = host_path(r).map_err(|e| anyhow!("rootfs {r} {}", io_problem(&e)))?;
                if !p.is_dir() {
                    bail!("rootfs {r} is not a directory");
                }
                p
            }
            None => PathBuf::from("/"),
        };

        // The presets' host paths that exist, then the user's bindings.
        let mut specs: Vec<BindSpec> = Vec::new();
        for (given, list) in [
            (&cli.rootfs_recommended, RECOMMENDED),
            (&cli.rootfs_safe, SAFE),
        ] {
            if given.is_none() {
                continue;
            }
            for p in list.iter().filter(|p| Path::new(p).exists()) {
                specs.push(parse_bind(p)?);
            }
            if let Some(home) = std::env::var_os("HOME")
                && Path::new(&home).is_dir()
            {
                specs.push(parse_bind(&home.to_string_lossy())?);
            }
        }
        for b in &cli.binds {
            specs.push(parse_bind(b)?);
        }
        // -q with a dynamically linked QEMU: the host's `/` must be bound
        // for the host's linker to find QEMU and its libraries.
        let mut qemu = match &cli.qemu {
            Some(q) => Some(crate::exec::Runner::new(q, env.force_foreign)?),
            None => None,
        };
        let binds_host_root = |specs: &[BindSpec]| {
            specs
                .iter()
                .any(|s| host_path(&s.host).is_ok_and(|h| h == Path::new("/")))
        };
        if qemu.as_ref().is_some_and(|q| q.dynamic.is_some()) && !binds_host_root(&specs) {
            specs.push(parse_bind(&format!("/:{}", crate::exec::HOST_ROOTFS))?);
        }

        let mut bindings: Vec<Binding> = Vec::new();
        let mut view = crate::fs::view(root.as_os_str().as_bytes(), Vec::new());
        for spec in specs {
            let host = match host_path(&spec.host) {
                Ok(h) => h,
                Err(e) => {
                    // As PRoot: a binding whose host side is missing is
                    // left out and the run goes on.
                    let what = if spec.guest.is_some() {
                        format!("{}: host path {}", spec.text, spec.host)
                    } else {
                        spec.text.clone()
                    };
                    log::warn!("-b {what} {} on the host; binding skipped", io_problem(&e));
                    continue;
                }
            };
            let guest_raw: Vec<u8> = match &spec.guest {
                Some(g) if g.starts_with('/') => g.as_bytes().to_vec(),
                Some(g) => format!("/{g}").into_bytes(),
                None => host.as_os_str().as_bytes().to_vec(),
            };
            let guest = match view
                .canonical_guest_for_binding(&TracerProc, &guest_raw, !spec.literal)
                .map_err(Errno::from)
            {
                // A guest location that leads into /proc (such as /dev/stdin,
                // a symlink to /proc/self/fd/0) names a per-process object:
                // bind the location itself, as with "!".
                Ok(g) if g == b"/proc" || g.starts_with(b"/proc/") => {
                    crate::fs::normalize_lexical(&guest_raw)
                }
                Ok(g) => g,
                Err(Errno::ELOOP) => crate::fs::normalize_lexical(&guest_raw),
                Err(e) => bail!(
                    "binding {}: guest path {}: {}",
                    spec.text,
                    String::from_utf8_lossy(&guest_raw),
                    e.desc()
                ),
            };
            bindings.push(Binding {
                host: host.into_os_string().into_vec(),
                guest,
            });
            view = crate::fs::view(root.as_os_str().as_bytes(), bindings.clone());
        }

        if let Some(q) = &mut qemu
            && let Some(b) = bindings.iter().rev().find(|b| b.host == b"/")
        {
            q.set_host_root(b.guest.clone());
        }

        let tmp_dir = env.tmp_dir;
        let glue = add_glue(&mut view, &bindings, &tmp_dir)?;
        if let Some(g) = &glue {
            view.set_glue(g.as_os_str().as_bytes());
        }

        view.set_cache(!cli.no_path_cache);
        view.set_link2symlink(cli.link2symlink);
        let cwd = Self::initial_cwd(cli, &view);
        view.remember_initial_cwd(&cwd);

        let command: Vec<OsString> = if cli.command.is_empty() {
            vec![OsString::from("/bin/sh")]
        } else {
            cli.command.iter().map(OsString::from).collect()
        };

        Ok(Config {
            root,
            view,
            cwd,
            command,
            kill_on_exit: cli.kill_on_exit,
            verbose: cli.verbose.unwrap_or(0),
            seccomp: !(cli.no_seccomp || env.no_seccomp),
            stats: cli.stats.clone(),
            tmp_dir,
            loader: env.loader.clone(),
            glue,
            spin_us: cli.spin_us,
            ext: Ext {
                fake_id: match &cli.fake_id {
                    Some(ids) => Some(
                        crate::ext::fake_id::parse_change_id_with(
                            ids,
                            nix::unistd::getgid().as_raw(),
                        )
                        .map_err(|e| anyhow!("-i/--change-id: {e}"))?,
                    ),
                    None => None,
                },
                kernel_release: match &cli.kernel_release {
                    Some(k) => Some(
                        crate::ext::kernel_release::parse(k)
                            .map_err(|e| anyhow!("-k/--kernel-release: {e}"))?,
                    ),
                    None => None,
                },
                link2symlink: cli.link2symlink,
                symlink_sizes: cli.symlink_sizes,
                hide_proot: cli.hide_proot_files,
                ports: crate::ext::net::Ports {
                    switch: cli.port_switch,
                    map: cli
                        .port_map
                        .iter()
                        .map(|m| {
                            crate::ext::net::parse_map(m).ok_or_else(|| {
                                anyhow!("-p {m}: expected PORT_IN:PORT_OUT (two ports, 1-65535)")
                            })
                        })
                        .collect::<Result<_>>()?,
                    netcoop: cli.netcoop,
                },
                qemu,
                sysvipc: cli.sysvipc,
                ashmem_memfd: cli.ashmem_memfd,
                persist_ownership: cli.persist_ownership,
            },
            placement: if cli.pin {
                crate::tracer::placement::Placement::Pinned
            } else {
                cli.placement
            },
            l2s_dir: env.l2s_dir,
            chaos_seed: env.chaos_seed,
            bare_stops: env.bare_stops,
        })
    }

    /// `-w` if given and usable, else the host's current directory when the
    /// guest can see it, else `/`. A relative `-w` starts from the host's
    /// current directory, as the guest sees it (its host path when the
    /// guest cannot see it, as PRoot does).
    fn initial_cwd(cli: &Cli, view: &GuestView) -> Vec<u8> {
        let here = std::env::current_dir()
            .ok()
            .map(|h| h.into_os_string().into_vec());
        let here_in_guest = here.as_deref().and_then(|h| view.to_guest(h));
        let Some(w) = &cli.cwd else {
            return match here_in_guest {
                Some(g) if view.to_host(&g).as_path().is_dir() => g,
                _ => b"/".to_vec(),
            };
        };
        let raw = if w.starts_with('/') {
            w.as_bytes().to_vec()
        } else {
            let mut base = here_in_guest.or(here).unwrap_or_else(|| b"/".to_vec());
            base.push(b'/');
            base.extend_from_slice(w.as_bytes());
            base
        };
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let problem = match view
            .canonical_guest_for_binding(&TracerProc, &raw, true)
            .map_err(Errno::from)
        {
            Ok(g) => match std::fs::metadata(view.to_host(&g).as_path()) {
                Ok(m) if m.is_dir() => return g,
                Ok(_) => "is not a directory".to_string(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
                Err(e) => format!("cannot be used: {e}"),
            },
            Err(Errno::ENOENT) => "does not exist".to_string(),
            Err(Errno::ENOTDIR) => "is not a directory".to_string(),
            Err(e) => format!("cannot be used: {}", e.desc()),
        };
        let what = if shown == *w {
            format!("-w {w}")
        } else {
            format!("-w {w}: {shown} (guest path)")
        };
        log::warn!("{what} {problem} in the guest; starting in /");
        b"/".to_vec()
    }

    /// The guest command's argv as bytes.
    pub fn argv(&self) -> Vec<Vec<u8>> {
        self.command.iter().map(|a| a.clone().into_vec()).collect()
    }

    /// How the first guest program starts, the way `execvp` would start it:
    /// a command without `/` is looked up in `$PATH` inside the guest, and a
    /// file the kernel would refuse as neither ELF nor `#!` script runs
    /// under `/bin/sh`.
    pub fn first_command(&self) -> Result<FirstCommand, StartError> {
        let mut argv = self.argv();
        let cmd = argv[0].clone();
        let shown = String::from_utf8_lossy(&cmd).into_owned();
        let program = if cmd.contains(&b'/') {
            cmd.clone()
        } else {
            self.search_path(&cmd)?
        };
        let host = self
            .view
            .resolve(&TracerProc, &self.cwd, &program, true)
            .map(|r| crate::fs::bytes_to_path(r.host))
            .map_err(|e| StartError::not_found(format!("{shown}: {}", Errno::from(e).desc())))?;
        match std::fs::metadata(&host) {
            Err(e) => {
                return Err(StartError::not_found(format!(
                    "{shown}: {} in the guest",
                    io_problem(&e)
                )));
            }
            Ok(m) if m.is_dir() => {
                return Err(StartError::cannot_run(format!("{shown}: is a directory")));
            }
            Ok(_) => {}
        }
        if nix::unistd::access(&host, nix::unistd::AccessFlags::X_OK).is_err() {
            return Err(StartError::cannot_run(format!(
                "{shown}: is not executable"
            )));
        }
        let mut head = Vec::with_capacity(256);
        if let Ok(f) = std::fs::File::open(&host) {
            let _ = f.take(256).read_to_end(&mut head);
        }
        if !head.is_empty() && crate::exec::runs_under_sh(&head) {
            argv[0] = program;
            argv.insert(0, b"/bin/sh".to_vec());
            return Ok(FirstCommand {
                program: b"/bin/sh".to_vec(),
                argv,
            });
        }
        Ok(FirstCommand { program, argv })
    }

    /// The first executable regular file named `cmd` in the directories of
    /// `$PATH`, as a guest path. Without a `$PATH` (unset or empty) a name
    /// is not looked up, as in PRoot: only a name with a `/` runs then.
    fn search_path(&self, cmd: &[u8]) -> Result<Vec<u8>, StartError> {
        let shown = String::from_utf8_lossy(cmd);
        let path = std::env::var("PATH").unwrap_or_default();
        if path.is_empty() {
            let mut message = format!(
                "{shown}: not found: $PATH is unset or empty, so a name without '/' is not looked up"
            );
            let here = self.view.resolve(&TracerProc, &self.cwd, cmd, true);
            if here.is_ok_and(|r| r.host.as_path().is_file()) {
                message.push_str(&format!(
                    "; to run the one in the current directory: ./{shown}"
                ));
            }
            return Err(StartError::not_found(message));
        }
        for dir in path.split(':').filter(|d| d.starts_with('/')) {
            let mut guest = dir.as_bytes().to_vec();
            guest.push(b'/');
            guest.extend_from_slice(cmd);
            if let Ok(r) = self.view.resolve(&TracerProc, b"/", &guest, true)
                && let Ok(m) = std::fs::metadata(r.host.as_path())
                && m.is_file()
                && m.permissions().mode() & 0o111 != 0
            {
                return Ok(guest);
            }
        }
        Err(StartError::not_found(format!(
            "{shown}: command not found in the guest's PATH ({path})"
        )))
    }

    /// The run's configuration as `-v 1` shows it, one line each (`inproc`:
    /// the in-process engine runs it).
    pub fn summary(&self, first: &FirstCommand, loader: &Path, inproc: bool) -> Vec<String> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut lines = vec![format!("rootfs = {}", self.root.display())];
        for b in self.view.bindings() {
            let glue = match &self.glue {
                Some(g) if b.host.as_path().starts_with(g) => {
                    " (glue: a directory missing from the rootfs)"
                }
                _ => "",
            };
            lines.push(format!(
                "binding = {} -> {}{glue}",
                b.host.as_path().display(),
                lossy(&b.guest)
            ));
        }
        lines.push(format!("initial cwd = {}", lossy(&self.cwd)));
        let argv: Vec<String> = first.argv.iter().map(|a| lossy(a)).collect();
        lines.push(format!(
            "command = {} (argv: {})",
            lossy(&first.program),
            argv.join(" ")
        ));
        lines.push(format!("loader = {}", loader.display()));
        lines.push(format!(
            "tracing = {}",
            if inproc {
                "seccomp filter + SIGSYS handler in each guest process (--engine=inproc)"
            } else if self.seccomp {
                "seccomp filter + ptrace"
            } else {
                "ptrace syscall stops (no seccomp)"
            }
        ));
        if let Some((u, g)) = self.ext.fake_id {
            lines.push(format!("fake ids = {u}:{g}"));
        }
        if let Some(seed) = self.chaos_seed {
            lines.push(format!("chaos mode: seed {seed}"));
        }
        if self.bare_stops {
            lines.push("bare stops (SPROOT_BARE_STOPS=1): syscalls are not translated".into());
        }
        lines
    }
}

/// The first guest program and its argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstCommand {
    /// The guest path to execute.
    pub program: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
}

/// Why the first command cannot start, and sproot's exit status for it
/// (127 not found, 126 found but not runnable, as shells do).
#[derive(Debug)]
pub struct StartError {
    pub message: String,
    pub status: i32,
}

impl StartError {
    fn not_found(message: String) -> Self {
        StartError {
            message,
            status: 127,
        }
    }

    fn cannot_run(message: String) -> Self {
        StartError {
            message,
            status: 126,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_specs_split_host_guest_and_literal_suffix() {
        assert_eq!(
            parse_bind("/dev").unwrap(),
            BindSpec {
                text: "/dev".into(),
                host: "/dev".into(),
                guest: None,
                literal: false
            }
        );
        assert_eq!(
            parse_bind("/a/b:/c").unwrap(),
            BindSpec {
                text: "/a/b:/c".into(),
                host: "/a/b".into(),
                guest: Some("/c".into()),
                literal: false
            }
        );
        assert_eq!(
            parse_bind("/a:/c!").unwrap(),
            BindSpec {
                text: "/a:/c!".into(),
                host: "/a".into(),
                guest: Some("/c".into()),
                literal: true
            }
        );
        assert!(parse_bind(":/x").is_err());
        assert!(parse_bind("/x:").is_err());
    }

    fn config(args: &[&str], env: Environment) -> Result<Config> {
        let cli = crate::cli::parse(["sproot", "-r", "/"].iter().chain(args)).expect("parses");
        Config::from_cli_env(&cli, env)
    }

    fn env() -> Environment {
        Environment {
            tmp_dir: PathBuf::from("/tmp"),
            ..Environment::default()
        }
    }

    #[test]
    fn kernel_release_is_parsed_once_into_the_configuration() {
        let cfg = config(&["-k", "9.8.7", "true"], env()).unwrap();
        assert_eq!(
            cfg.ext.kernel_release,
            Some(crate::ext::kernel_release::parse("9.8.7").unwrap())
        );
        let err = config(&["-k", "\\a\\b", "true"], env())
            .err()
            .expect("refused");
        assert!(
            format!("{err:#}").starts_with("-k/--kernel-release: "),
            "{err:#}"
        );
    }

    #[test]
    fn the_environment_is_taken_from_one_place() {
        let e = Environment {
            no_seccomp: true,
            l2s_dir: Some(PathBuf::from("/meta")),
            chaos_seed: Some(7),
            bare_stops: true,
            ..env()
        };
        let cfg = config(&["true"], e).unwrap();
        assert!(!cfg.seccomp);
        assert_eq!(cfg.l2s_dir.as_deref(), Some(Path::new("/meta")));
        assert_eq!(cfg.chaos_seed, Some(7));
        assert!(cfg.bare_stops);
        assert_eq!(cfg.tmp_dir, PathBuf::from("/tmp"));
    }

    #[test]
    fn proc_self_host_paths_are_not_resolved_to_sproot_itself() {
        let p = host_path("/proc/self/fd").unwrap();
        assert_eq!(p, PathBuf::from("/proc/self/fd"));
    }
}
