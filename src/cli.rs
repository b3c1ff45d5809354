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
