//! The command line, compatible with PRoot's.
//!
//! `sproot [option]... [command [arg]...]`. Options that PRoot has but that
//! sproot does not implement yet are still parsed, so that a command line
//! written for `proot` gets a clear refusal naming the option instead of a
//! confusing parse error.

use clap::{ArgAction, Parser};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "sproot",
    version,
    disable_version_flag = true,
    args_override_self = true,
    about = "Run programs inside a directory tree as if it were / (a seccomp-accelerated, PRoot-compatible userspace chroot).",
    after_help = "Environment: PROOT_VERBOSE (as -v), PROOT_NO_SECCOMP=1 (as --no-seccomp), \
PROOT_TMP_DIR (where the exec loader is extracted; default $TMPDIR or /tmp).\n\
The exit status is the first guest process's: its exit code, or 128+N when it died of signal N."
)]
pub struct Cli {
    /// Use PATH as the guest root file-system (default: /).
    #[arg(short = 'r', long = "rootfs", value_name = "PATH")]
    pub rootfs: Option<String>,

    /// Make the host PATH visible in the guest, at the same place or at
    /// GUEST with HOST:GUEST. A trailing "!" on GUEST binds it literally,
    /// without following symlinks in the rootfs.
    #[arg(short = 'b', long = "bind", visible_short_alias = 'm', visible_alias = "mount",
          value_name = "HOST[:GUEST]", action = ArgAction::Append)]
    pub binds: Vec<String>,

    /// Initial working directory inside the guest (default: the current
    /// directory when it is visible in the guest, else /).
    #[arg(short = 'w', long = "cwd", visible_alias = "pwd", value_name = "PATH")]
    pub cwd: Option<String>,

    /// Kill every remaining guest process when the first one exits.
    #[arg(long = "kill-on-exit")]
    pub kill_on_exit: bool,

    /// Verbosity: -1 errors only, 0 warnings (default), 1 info, 2 debug, 3+ trace.
    #[arg(
        short = 'v',
        long = "verbose",
        value_name = "N",
        env = "PROOT_VERBOSE",
        allow_negative_numbers = true
    )]
    pub verbose: Option<i32>,

    /// Print the version and exit.
    #[arg(short = 'V', long = "version", visible_alias = "about", action = ArgAction::Version)]
    pub version: Option<bool>,

    /// Like -r PATH, plus bindings of the host files a guest usually needs
    /// (/etc/hosts, /etc/resolv.conf, /etc/passwd, /dev, /proc, /sys, /tmp, $HOME, ...).
    #[arg(short = 'R', value_name = "PATH")]
    pub rootfs_recommended: Option<String>,

    /// Like -0 -r PATH, plus a minimal set of host bindings
    /// (/etc/host.conf, /etc/hosts, /etc/nsswitch.conf, /dev, /sys, /proc, /tmp, $HOME).
    #[arg(short = 'S', value_name = "PATH")]
    pub rootfs_safe: Option<String>,

    /// Trace with plain ptrace syscall stops instead of a seccomp filter
    /// (slower; for kernels without seccomp). Also PROOT_NO_SECCOMP=1.
    #[arg(long = "no-seccomp")]
    pub no_seccomp: bool,

    /// At exit, print counts of ptrace stops by kind and of event batches to
    /// stderr, or to FILE with --stats=FILE.
    #[arg(long = "stats", value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub stats: Option<String>,

    /// Poll for the next ptrace stop up to US microseconds before sleeping;
    /// the budget shrinks by itself while stops are sparse. 0 turns it off.
    #[arg(
        long = "spin-us",
        value_name = "US",
        default_value_t = 100,
        env = "SPROOT_SPIN_US"
    )]
    pub spin_us: u64,

    /// Do not cache which guest directories exist. The cache is cleared on
    /// every rename, unlink, rmdir, link or symlink a guest makes; use this
    /// when host processes change the rootfs's directories while a guest runs.
    #[arg(long = "no-path-cache")]
    pub no_path_cache: bool,

    /// Where the tracer and the guests run: "adaptive" pins the tracer and a
    /// guest thread that makes a run of stops to one CPU and lets go when
    /// others make stops too; "free" leaves placement to the kernel;
    /// "pinned" keeps the tracer and every guest on one CPU.
    #[arg(
        long = "placement",
        value_name = "POLICY",
        default_value = "adaptive",
        env = "SPROOT_PLACEMENT"
    )]
    pub placement: crate::tracer::placement::Placement,

    /// Same as --placement=pinned.
    #[arg(long = "pin")]
    pub pin: bool,

    /// With -0/-i: keep the owners set by chown across runs, in the extended
    /// attribute user.sproot.owner ("uid:gid") of each file.
    #[arg(long = "persist-ownership")]
    pub persist_ownership: bool,

    // ---- PRoot extensions ----
    /// Fake root: the guest sees uid and gid 0 and may do what root may
    /// (chown, set*id, ...), as far as the files of the real user allow.
    #[arg(short = '0', long = "root-id")]
    pub root_id: bool,
    /// Fake user and group ids: the guest sees UID and GID (a missing :GID
    /// means the real gid).
    #[arg(short = 'i', long = "change-id", value_name = "UID:GID")]
    pub change_id: Option<String>,
    /// What uname reports: a release string, or
    /// \sysname\nodename\release\version\machine\domainname\hwcap\
    /// (empty or -1 fields keep the real value).
    #[arg(short = 'k', long = "kernel-release", value_name = "STRING")]
    pub kernel_release: Option<String>,
    /// Emulate hard links with symlinks, in PRoot's on-disk layout
    /// (`.l2s.*` files next to the names, or in PROOT_L2S_DIR).
    #[arg(short = 'l', long = "link2symlink")]
    pub link2symlink: bool,
    /// SysV IPC inside the guest: accepted; the kernel's own SysV IPC is used.
    #[arg(long = "sysvipc")]
    pub sysvipc: bool,
    /// Report the size of a symlink as the length of its target as the guest
    /// sees it (lstat, newfstatat, statx).
    #[arg(short = 'L')]
    pub symlink_sizes: bool,
    /// Move the ports below 1024 that guests bind or connect to up by 2000.
    #[arg(short = 'p')]
    pub port_switch: bool,
    /// -p PORT_IN:PORT_OUT (repeatable): bind and connect to PORT_IN go to
    /// PORT_OUT instead.
    #[arg(long = "port", value_name = "PORT_IN:PORT_OUT")]
    pub port_map: Vec<String>,
    /// Network cooperation: a guest that binds a port already in use gets a
    /// free one, and guests connecting to the port it asked for reach it.
    #[arg(short = 'n', long = "netcoop")]
    pub netcoop: bool,
    /// Hide .proot* files from directory listings.
    #[arg(short = 'H')]
    pub hide_proot_files: bool,
    /// Android ashmem emulated with memfd: accepted; a no-op off Android.
    #[arg(long = "ashmem-memfd")]
    pub ashmem_memfd: bool,
    /// Run guest programs that are not for this host under this QEMU
    /// user-mode command (a static one, e.g. 'qemu-aarch64-static'; words
    /// after the first are its options). With PROOT_FORCE_FOREIGN_BINARY=1,
    /// every guest program runs under it.
    #[arg(short = 'q', long = "qemu", value_name = "COMMAND")]
    pub qemu: Option<String>,

    /// The guest command and its arguments (default: /bin/sh).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// PRoot's two meanings of `-p`: followed by `PORT_IN:PORT_OUT` it is a port
/// map (`--port=...`); alone it is the switch of low ports. Rewrites the
/// words before the command so that clap sees the map as `--port`.
pub fn normalize_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use crate::ext::net::is_map;
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    if let Some(argv0) = it.next() {
        out.push(argv0);
    }
    while let Some(a) = it.next() {
        let word = a.to_string_lossy().into_owned();
        let word = word.as_str();
        if word == "--" || !word.starts_with('-') {
            out.push(a);
            out.extend(it);
            break;
        }
        if let Some(map) = word.strip_prefix("-p").filter(|m| is_map(m)) {
            out.push(format!("--port={map}").into());
            continue;
        }
        out.push(a);
        if word == "-p"
            && let Some(next) = it.clone().next()
            && next.to_str().is_some_and(is_map)
        {
            out.pop();
            out.push(format!("--port={}", next.to_str().unwrap_or("")).into());
            it.next();
        } else if takes_value(word) {
            // The option's value is never the command.
            out.extend(it.next());
        }
    }
    out
}

/// Whether `word` is an option whose value is the next word (read from the
/// clap definition, so it never drifts from it).
fn takes_value(word: &str) -> bool {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let matches_word = |a: &clap::Arg| {
        if let Some(long) = word.strip_prefix("--") {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|v| v.contains(&long))
        } else if let Some(short) = word.strip_prefix('-') {
            let mut c = short.chars();
            let (Some(ch), None) = (c.next(), c.next()) else {
                return false;
            };
            a.get_short() == Some(ch) || a.get_all_short_aliases().is_some_and(|v| v.contains(&ch))
        } else {
            false
        }
    };
    cmd.get_arguments()
        .find(|a| matches_word(a))
        .is_some_and(|a| {
            a.get_action().takes_values() && a.get_num_args().is_none_or(|n| n.min_values() > 0)
        })
}

/// `PROOT_NO_SECCOMP` is set to something other than empty or "0".
pub fn no_seccomp_from_env() -> bool {
    std::env::var_os("PROOT_NO_SECCOMP").is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("sproot").chain(args.iter().copied())).expect("parses")
    }

    #[test]
    fn options_stop_at_the_command() {
        let c = parse(&["-r", "/x", "-b", "/dev", "ls", "-l", "-r"]);
        assert_eq!(c.rootfs.as_deref(), Some("/x"));
        assert_eq!(c.binds, vec!["/dev"]);
        assert_eq!(c.command, vec!["ls", "-l", "-r"]);
    }

    #[test]
    fn long_forms_and_aliases_parse() {
        let c = parse(&[
            "--rootfs=.",
            "--bind=/a:/b",
            "-m",
            "/c",
            "--mount=/d",
            "--pwd=/root",
            "--kill-on-exit",
        ]);
        assert_eq!(c.rootfs.as_deref(), Some("."));
        assert_eq!(c.binds, vec!["/a:/b", "/c", "/d"]);
        assert_eq!(c.cwd.as_deref(), Some("/root"));
        assert!(c.kill_on_exit);
    }

    fn normalized(args: &[&str]) -> Vec<String> {
        let mut v: Vec<std::ffi::OsString> = vec!["sproot".into()];
        v.extend(args.iter().map(Into::into));
        normalize_args(v)
            .into_iter()
            .skip(1)
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn dash_p_with_ports_is_a_map_and_alone_the_switch() {
        assert_eq!(
            normalized(&["-p", "80:8080", "-p22:2222", "-r", "/r", "/bin/sh"]),
            ["--port=80:8080", "--port=22:2222", "-r", "/r", "/bin/sh"]
        );
        // A bare -p before the command, and words after the command, stay.
        assert_eq!(
            normalized(&["-p", "/bin/sh", "-p", "1:2"]),
            ["-p", "/bin/sh", "-p", "1:2"]
        );
        // An option's value is never taken for a map or the command.
        assert_eq!(
            normalized(&["-w", "1:2", "-p", "ls"]),
            ["-w", "1:2", "-p", "ls"]
        );
        let c = Cli::parse_from(normalize_args(
            [
                "sproot", "-p", "80:8080", "-p", "-n", "--port", "1:2", "true",
            ]
            .map(Into::into)
            .to_vec(),
        ));
        assert_eq!(c.port_map, ["80:8080", "1:2"]);
        assert!(c.port_switch && c.netcoop);
        assert_eq!(c.command, ["true"]);
    }

    #[test]
    fn a_repeated_option_takes_the_last_value_as_in_proot() {
        let c = parse(&[
            "-r",
            "/a",
            "--change-id=0:0",
            "-r",
            "/b",
            "--change-id=1:1",
            "-b",
            "/x",
            "-b",
            "/y",
        ]);
        assert_eq!(c.rootfs.as_deref(), Some("/b"));
        assert_eq!(c.change_id.as_deref(), Some("1:1"));
        assert_eq!(c.binds, vec!["/x", "/y"]);
    }

    #[test]
    fn negative_verbosity_parses() {
        assert_eq!(parse(&["-v", "-1"]).verbose, Some(-1));
    }
}
