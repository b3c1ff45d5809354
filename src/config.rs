//! The validated, immutable run configuration built from the command line.

use crate::cli::Cli;
use crate::fs::{Binding, GuestView};
use anyhow::{Context, Result, anyhow, bail};
use nix::errno::Errno;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The PRoot extensions a run uses.
#[derive(Clone, Debug, Default)]
pub struct Ext {
    /// `-0` (0:0) or `-i UID:GID`: the ids the guest sees.
    pub fake_id: Option<(u32, u32)>,
    /// `-k`: the raw argument.
    pub kernel_release: Option<String>,
    /// `-l`: hard links emulated with symlinks.
    pub link2symlink: bool,
    /// `-L`: symlink sizes as their guest target's length.
    pub symlink_sizes: bool,
    /// `-H`: hide `.proot*` entries from directory listings.
    pub hide_proot: bool,
    /// `-p`: ports below 1024 moved up by 2000.
    pub port_switch: bool,
    /// `--sysvipc`: accepted; the kernel's SysV IPC is used.
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
    /// The temporary "glue" tree that stands in for directories leading to
    /// a binding but missing from the rootfs; removed at exit.
    pub glue: Option<PathBuf>,
    /// Longest poll of `waitpid` before blocking, in microseconds (0: off).
    pub spin_us: u64,
    /// The PRoot extensions in use.
    pub ext: Ext,
    /// Where the tracer and the guests run.
    pub placement: crate::tracer::placement::Placement,
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
        host: host.to_string(),
        guest: guest.map(str::to_string),
        literal,
    })
}

/// Make a host path absolute and canonical. Paths under `/proc` are only
/// made absolute: canonicalising `/proc/self/...` here would name sproot's
/// own process instead of the guest's.
fn host_path(p: &str, what: &str) -> Result<PathBuf> {
    let abs = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        std::env::current_dir()
            .context("read the current directory")?
            .join(p)
    };
    std::fs::symlink_metadata(&abs).with_context(|| format!("{what} {p}"))?;
    if abs.starts_with("/proc") {
        let lexical = crate::fs::normalize_lexical(abs.as_os_str().as_bytes());
        return Ok(PathBuf::from(OsString::from_vec(lexical)));
    }
    std::fs::canonicalize(&abs).with_context(|| format!("{what} {p}"))
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
            if std::fs::symlink_metadata(view.to_host(&prefix)).is_ok() {
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
            if b.host.is_dir() {
                std::fs::create_dir_all(&point)
            } else {
                std::fs::write(&point, b"")
            }
            .with_context(|| format!("create glue entry {}", point.display()))?;
            let glue_binding = Binding {
                host: host_of(&prefix),
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
    pub fn from_cli(cli: &Cli) -> Result<Config> {
        if let Some(opt) = cli.unsupported_option() {
            bail!("option {opt} is not supported yet");
        }
        let (rootfs_arg, preset) = match (&cli.rootfs_recommended, &cli.rootfs_safe) {
            (Some(_), Some(_)) => bail!("-R and -S cannot be used together"),
            (Some(r), None) => (Some(r.as_str()), Some(RECOMMENDED)),
            (None, Some(s)) => {
                log::warn!(
                    "-S: fake root (-0) is not supported yet; running with the real user and group ids"
                );
                (Some(s.as_str()), Some(SAFE))
            }
            (None, None) => (cli.rootfs.as_deref(), None),
        };
        let root = match rootfs_arg {
            Some(r) => {
                let p = host_path(r, "rootfs")?;
                if !p.is_dir() {
                    bail!("rootfs {r}: not a directory");
                }
                p
            }
            None => PathBuf::from("/"),
        };

        let mut specs: Vec<(BindSpec, bool)> = Vec::new();
        if let Some(list) = preset {
            for p in list.iter() {
                if Path::new(p).exists() {
                    specs.push((parse_bind(p)?, true));
                }
            }
            if let Some(home) = std::env::var_os("HOME")
                && Path::new(&home).is_dir()
            {
                specs.push((parse_bind(&home.to_string_lossy())?, true));
            }
        }
        for b in &cli.binds {
            specs.push((
                parse_bind(b).with_context(|| format!("binding {b:?}"))?,
                false,
            ));
        }

        let mut bindings: Vec<Binding> = Vec::new();
        let mut view = GuestView::new(root.clone(), Vec::new());
        for (spec, _preset) in specs {
            let host = host_path(&spec.host, "bind source")?;
            let guest_raw: Vec<u8> = match &spec.guest {
                Some(g) if g.starts_with('/') => g.as_bytes().to_vec(),
                Some(g) => format!("/{g}").into_bytes(),
                None => host.as_os_str().as_bytes().to_vec(),
            };
            let guest = match view.canonical_guest_for_binding(&guest_raw, !spec.literal) {
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
                    spec.host,
                    String::from_utf8_lossy(&guest_raw),
                    e.desc()
                ),
            };
            bindings.push(Binding { host, guest });
            view = GuestView::new(root.clone(), bindings.clone());
        }

        let tmp_dir = std::env::var_os("PROOT_TMP_DIR")
            .or_else(|| std::env::var_os("TMPDIR"))
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let glue = add_glue(&mut view, &bindings, &tmp_dir)?;
        if let Some(g) = &glue {
            view.set_glue(g);
        }

        view.set_cache(!cli.no_path_cache);
        view.set_link2symlink(cli.link2symlink);
        let cwd = Self::initial_cwd(cli, &view);

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
            seccomp: !(cli.no_seccomp || crate::cli::no_seccomp_from_env()),
            stats: cli.stats.clone(),
            tmp_dir,
            glue,
            spin_us: cli.spin_us,
            ext: Ext {
                fake_id: match (&cli.change_id, cli.root_id) {
                    (Some(ci), _) => Some(
                        crate::ext::fake_id::parse_change_id(ci)
                            .map_err(|e| anyhow!("-i/--change-id: {e}"))?,
                    ),
                    // -S implies -0, as in PRoot.
                    (None, true) => Some((0, 0)),
                    (None, false) if cli.rootfs_safe.is_some() => Some((0, 0)),
                    (None, false) => None,
                },
                kernel_release: match &cli.kernel_release {
                    Some(k) => {
                        crate::ext::kernel_release::parse(k)
                            .map_err(|e| anyhow!("-k/--kernel-release: {e}"))?;
                        Some(k.clone())
                    }
                    None => None,
                },
                link2symlink: cli.link2symlink,
                symlink_sizes: cli.symlink_sizes,
                hide_proot: cli.hide_proot_files,
                port_switch: cli.port_switch,
                sysvipc: cli.sysvipc,
                ashmem_memfd: cli.ashmem_memfd,
                persist_ownership: cli.persist_ownership,
            },
            placement: if cli.pin {
                crate::tracer::placement::Placement::Pinned
            } else {
                cli.placement
            },
        })
    }

    /// `-w` if given and usable, else the host's current directory when the
    /// guest can see it, else `/`.
    fn initial_cwd(cli: &Cli, view: &GuestView) -> Vec<u8> {
        let is_dir = |guest: &[u8]| view.to_host(guest).is_dir();
        if let Some(w) = &cli.cwd {
            let raw = if w.starts_with('/') {
                w.clone()
            } else {
                format!("/{w}")
            };
            let resolved = view
                .canonical_guest_for_binding(raw.as_bytes(), true)
                .ok()
                .filter(|g| is_dir(g));
            match resolved {
                Some(g) => return g,
                None => {
                    log::warn!("can't chdir to {w} in the guest: not a directory; using /");
                    return b"/".to_vec();
                }
            }
        }
        if let Ok(here) = std::env::current_dir()
            && let Some(g) = view.to_guest(here.as_os_str().as_bytes())
            && is_dir(&g)
        {
            return g;
        }
        b"/".to_vec()
    }

    /// The guest command's argv as bytes.
    pub fn argv(&self) -> Vec<Vec<u8>> {
        self.command.iter().map(|a| a.clone().into_vec()).collect()
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
                host: "/dev".into(),
                guest: None,
                literal: false
            }
        );
        assert_eq!(
            parse_bind("/a/b:/c").unwrap(),
            BindSpec {
                host: "/a/b".into(),
                guest: Some("/c".into()),
                literal: false
            }
        );
        assert_eq!(
            parse_bind("/a:/c!").unwrap(),
            BindSpec {
                host: "/a".into(),
                guest: Some("/c".into()),
                literal: true
            }
        );
        assert!(parse_bind(":/x").is_err());
        assert!(parse_bind("/x:").is_err());
    }

    #[test]
    fn proc_self_host_paths_are_not_resolved_to_sproot_itself() {
        let p = host_path("/proc/self/fd", "bind source").unwrap();
        assert_eq!(p, PathBuf::from("/proc/self/fd"));
    }
}
