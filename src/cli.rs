//! The command line, compatible with PRoot's.
//!
//! `sproot [option]... [command [arg]...]`. The first word that does not
//! start with `-` (or every word after `--`) starts the command; an unknown
//! option before it is refused, as PRoot does. Options that PRoot has but
//! that sproot does not implement are still parsed, so that a command line
//! written for `proot` gets a clear refusal naming the option.
//!
//! Where PRoot's options interact, the last one on the command line wins:
//! `-r`, `-R`, `-S` and `-b HOST:/` all choose the rootfs, and `-0`, `-i`
//! and `-S` all choose the fake ids. [`parse`] applies those rules, so the
//! rest of sproot sees one rootfs and one fake-id choice.
//!
//! The manual page and the shell completions are generated from this same
//! definition (`src/bin/sproot-gen.rs`), so they cannot drift from `--help`.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use std::ffi::OsString;

/// Environment variables sproot reads, with what they do: `--help`, the
/// manual page and the README list the same.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("PROOT_VERBOSE", "the verbosity, as -v N"),
    (
        "PROOT_NO_SECCOMP",
        "set to anything but empty or 0: as --no-seccomp",
    ),
    (
        "PROOT_TMP_DIR",
        "where the exec loader is extracted and the glue tree made (default: $TMPDIR, else the build's default, /tmp unless built with SPROOT_DEFAULT_TMP_DIR)",
    ),
    (
        "PROOT_LOADER",
        "an installed copy of this sproot's exec loader to run instead of extracting one (anything else there is refused with a warning)",
    ),
    (
        "PROOT_L2S_DIR",
        "with -l: the directory for the link2symlink files instead of next to each name",
    ),
    (
        "PROOT_FORCE_FOREIGN_BINARY",
        "set to anything but empty or 0: with -q, native programs run under QEMU too",
    ),
    ("SPROOT_SPIN_US", "as --spin-us"),
    ("SPROOT_PLACEMENT", "as --placement"),
    ("SPROOT_ENGINE", "as --engine"),
    (
        "SPROOT_CHAOS",
        "a number: handle each batch of tracer events in an order shuffled with this seed (testing)",
    ),
];

/// Examples for the manual page and `--help`: (command line, what it does).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "sproot -r ./debian -b /dev -b /proc -b /sys -w /root /bin/bash",
        "a shell in the tree ./debian, with the host's /dev, /proc and /sys",
    ),
    (
        "sproot -R ./debian apt-cache policy",
        "with PRoot's recommended host bindings (/etc/resolv.conf, $HOME, ...)",
    ),
    (
        "sproot -S ./debian apt-get install -y make",
        "as fake root, with a minimal set of host bindings",
    ),
    (
        "sproot -r ./debian -b $HOME/src:/src -w /src make",
        "build a host directory inside the guest",
    ),
    (
        "sproot -r ./debian-arm64 -q qemu-aarch64-static /bin/bash",
        "an arm64 distribution on an x86_64 host, through QEMU user mode",
    ),
    (
        "sproot -v 1 -r ./debian /bin/true",
        "show the rootfs, bindings, working directory and command before running",
    ),
];

/// What `--help` shows after the options.
fn after_help() -> String {
    let mut s = String::from("Environment:\n");
    for (name, what) in ENVIRONMENT {
        s.push_str(&format!("  {name}: {what}\n"));
    }
    s.push_str("\nExamples:\n");
    for (cmd, what) in EXAMPLES {
        s.push_str(&format!("  {cmd}\n      {what}\n"));
    }
    s.push('\n');
    s.push_str(EXIT_STATUS);
    s
}

/// The exit status rule, for `--help` and the manual page.
pub const EXIT_STATUS: &str = "The exit status is the first guest process's: its exit code, or 128+N \
when it died of signal N. sproot's own errors exit with 1; a command that is not found exits with 127, \
one that cannot be run with 126.";

#[derive(Parser, Debug, Clone)]
#[command(
    name = "sproot",
    version,
    disable_version_flag = true,
    args_override_self = true,
    about = "Run programs inside a directory tree as if it were / (a seccomp-accelerated, PRoot-compatible userspace chroot).",
    after_help = after_help()
)]
pub struct Cli {
    /// Use PATH as the guest root file-system (default: /). Same as
    /// -b PATH:/; the last of -r, -R, -S and -b HOST:/ wins.
    #[arg(
        short = 'r',
        long = "rootfs",
        value_name = "PATH",
        allow_hyphen_values = true
    )]
    pub rootfs: Option<String>,

    /// Make the host PATH visible in the guest, at the same place or at
    /// GUEST with HOST:GUEST. A trailing "!" on GUEST binds it literally,
    /// without following symlinks in the rootfs. A HOST that does not exist
    /// is skipped with a warning.
    #[arg(short = 'b', long = "bind", visible_short_alias = 'm', visible_alias = "mount",
          value_name = "HOST[:GUEST]", action = ArgAction::Append, allow_hyphen_values = true)]
    pub binds: Vec<String>,

    /// Initial working directory inside the guest. A relative PATH (such as
    /// ".") starts from the host's current directory as the guest sees it.
    /// Default: the current directory when the guest can see it, else /.
    #[arg(
        short = 'w',
        long = "cwd",
        visible_alias = "pwd",
        value_name = "PATH",
        allow_hyphen_values = true
    )]
    pub cwd: Option<String>,

    /// Kill every remaining guest process when the first one exits.
    #[arg(long = "kill-on-exit")]
    pub kill_on_exit: bool,

    /// Verbosity: -1 errors only, 0 warnings (default), 1 the run's
    /// configuration (rootfs, bindings, cwd, command, loader), 2 each path
    /// translation, 3 each trapped syscall with its arguments and result.
    #[arg(
        short = 'v',
        long = "verbose",
        value_name = "N",
        env = "PROOT_VERBOSE",
        allow_negative_numbers = true
    )]
    pub verbose: Option<i32>,

    /// Print the version, the git commit, the target architecture and
    /// whether seccomp acceleration is available on this kernel, and exit.
    #[arg(short = 'V', long = "version", visible_alias = "about")]
    pub version: bool,

    /// Like -r PATH, plus bindings of the host files a guest usually needs
    /// (/etc/hosts, /etc/resolv.conf, /etc/passwd, /dev, /proc, /sys, /tmp, $HOME, ...).
    #[arg(short = 'R', value_name = "PATH", allow_hyphen_values = true)]
    pub rootfs_recommended: Option<String>,

    /// Like -0 -r PATH, plus a minimal set of host bindings
    /// (/etc/host.conf, /etc/hosts, /etc/nsswitch.conf, /dev, /sys, /proc, /tmp, $HOME).
    #[arg(short = 'S', value_name = "PATH", allow_hyphen_values = true)]
    pub rootfs_safe: Option<String>,

    /// Trace with plain ptrace syscall stops instead of a seccomp filter
    /// (slower; for kernels without seccomp). Also PROOT_NO_SECCOMP=1.
    #[arg(long = "no-seccomp")]
    pub no_seccomp: bool,

    /// At exit, print counts of ptrace stops by kind and of event batches to
    /// stderr, or to FILE with --stats=FILE (the "=" is required: a word
    /// after --stats is the command).
    #[arg(
        long = "stats",
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-",
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
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
        env = "SPROOT_PLACEMENT",
        value_parser = PossibleValuesParser::new(["adaptive", "free", "pinned"])
            .try_map(|s| s.parse::<crate::tracer::placement::Placement>())
    )]
    pub placement: crate::tracer::placement::Placement,

    /// Same as --placement=pinned.
    #[arg(long = "pin")]
    pub pin: bool,

    /// Which engine translates the guest's syscalls: "inproc" (a runtime
    /// inside every guest process translates them, with no tracer; a
    /// process that calls ptrace, and the ones it traces, go to the ptrace
    /// engine), "ptrace" (a tracer process stops each one), or "auto"
    /// (inproc where it can run: not with -q or --no-seccomp, which need a
    /// tracer from the first program on, nor when sproot is itself traced
    /// or runs inside an inproc sproot).
    #[arg(
        long = "engine",
        value_name = "ENGINE",
        default_value = "auto",
        env = "SPROOT_ENGINE",
        value_parser = PossibleValuesParser::new(["auto", "ptrace", "inproc"])
            .try_map(|s| s.parse::<crate::inproc::Engine>())
    )]
    pub engine: crate::inproc::Engine,

    /// With -0/-i: keep the owners set by chown across runs, in the extended
    /// attribute user.sproot.owner ("uid:gid") of each file.
    #[arg(long = "persist-ownership")]
    pub persist_ownership: bool,

    // ---- PRoot extensions ----
    /// Fake root: the guest sees uid and gid 0 and may do what root may
    /// (chown, set*id, ...), as far as the files of the real user allow.
    /// The last of -0, -i and -S wins.
    #[arg(short = '0', long = "root-id")]
    pub root_id: bool,
    /// Fake user and group ids: the guest sees UID and GID (a missing :GID
    /// means the real gid). The last of -0, -i and -S wins.
    #[arg(
        short = 'i',
        long = "change-id",
        value_name = "UID:GID",
        allow_hyphen_values = true
    )]
    pub change_id: Option<String>,
    /// What uname reports: a release string, or
    /// \sysname\nodename\release\version\machine\domainname\hwcap\
    /// (empty or -1 fields keep the real value).
    #[arg(
        short = 'k',
        long = "kernel-release",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub kernel_release: Option<String>,
    /// Emulate hard links with symlinks, in PRoot's on-disk layout
    /// (`.l2s.*` files next to the names, or in PROOT_L2S_DIR).
    #[arg(short = 'l', long = "link2symlink")]
    pub link2symlink: bool,
    /// Emulate SysV IPC (shared memory, semaphores, message queues) for the
    /// guests of this run, apart from the host's; needed on Android.
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
    /// user-mode command (e.g. 'qemu-aarch64-static'; words after the first
    /// are its options). A dynamically linked QEMU runs with the host's
    /// libraries, the host's / bound at /host-rootfs. With
    /// PROOT_FORCE_FOREIGN_BINARY=1, every guest program runs under it.
    #[arg(
        short = 'q',
        long = "qemu",
        value_name = "COMMAND",
        allow_hyphen_values = true
    )]
    pub qemu: Option<String>,

    /// The guest command and its arguments (default: /bin/sh). A COMMAND
    /// without "/" is looked up in $PATH inside the guest (not at all when
    /// $PATH is unset or empty).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// The rootfs after the last-wins rule (filled by [`parse`]).
    #[arg(skip)]
    pub root: Option<String>,
    /// The fake ids after the last-wins rule, as `-i` spells them (filled
    /// by [`parse`]).
    #[arg(skip)]
    pub fake_id: Option<String>,
}

/// Parse a command line (`args[0]` is the program name) and apply PRoot's
/// last-wins rules.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = normalize_args(args.into_iter().map(Into::into).collect());
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.apply_last_wins(&matches);
    Ok(cli)
}

/// The position of the last occurrence of option `id`, if given.
fn last_index(m: &ArgMatches, id: &str) -> Option<usize> {
    m.indices_of(id).and_then(|mut i| i.next_back())
}

/// Whether a `-b` argument binds the guest's `/` (and so chooses the rootfs).
fn binds_root(spec: &str) -> Option<&str> {
    let (host, guest) = spec.split_once(':')?;
    let guest = guest.trim_end_matches('!');
    (!host.is_empty() && !guest.is_empty() && guest.bytes().all(|c| c == b'/')).then_some(host)
}

impl Cli {
    fn apply_last_wins(&mut self, m: &ArgMatches) {
        // The rootfs: -r, -R, -S and -b HOST:/, the last one given.
        let mut roots: Vec<(usize, String)> = Vec::new();
        for (id, value) in [
            ("rootfs", &self.rootfs),
            ("rootfs_recommended", &self.rootfs_recommended),
            ("rootfs_safe", &self.rootfs_safe),
        ] {
            if let (Some(i), Some(v)) = (last_index(m, id), value) {
                roots.push((i, v.clone()));
            }
        }
        if let Some(indices) = m.indices_of("binds") {
            for (i, spec) in indices.zip(&self.binds) {
                if let Some(host) = binds_root(spec) {
                    roots.push((i, host.to_string()));
                }
            }
        }
        self.binds.retain(|b| binds_root(b).is_none());
        self.root = roots.into_iter().max_by_key(|(i, _)| *i).map(|(_, r)| r);

        // The fake ids: -0, -i and -S (which implies -0), the last one given.
        let mut ids: Vec<(usize, String)> = Vec::new();
        if self.root_id
            && let Some(i) = last_index(m, "root_id")
        {
            ids.push((i, "0:0".into()));
        }
        if let (Some(i), Some(v)) = (last_index(m, "change_id"), &self.change_id) {
            ids.push((i, v.clone()));
        }
        if let Some(i) = last_index(m, "rootfs_safe") {
            ids.push((i, "0:0".into()));
        }
        self.fake_id = ids.into_iter().max_by_key(|(i, _)| *i).map(|(_, v)| v);
    }
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

/// What to print for a command line clap refused, and the exit status:
/// 0 for `--help`, 1 for errors (PRoot's status), with PRoot's wording
/// for an unknown option.
pub fn error_report(e: &clap::Error) -> (String, i32) {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => (e.render().to_string(), 0),
        ErrorKind::UnknownArgument => {
            let arg = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            (
                format!(
                    "sproot error: unknown option '{arg}' (see `sproot --help`; \
                     a command that starts with '-' goes after `--`)\n"
                ),
                1,
            )
        }
        _ => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            (format!("sproot error: {text}"), 1)
        }
    }
}

/// Whether this kernel lets a seccomp filter hand syscalls to a tracer
/// (`SECCOMP_RET_TRACE`), and how that was found out.
pub fn seccomp_availability() -> (bool, String) {
    match std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
        Ok(actions) => {
            if actions.split_whitespace().any(|a| a == "trace") {
                (true, "available (SECCOMP_RET_TRACE is supported)".into())
            } else {
                (
                    false,
                    format!(
                        "not available: the kernel's seccomp actions are \"{}\", without \"trace\"",
                        actions.trim()
                    ),
                )
            }
        }
        Err(_) => {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            if status.lines().any(|l| l.starts_with("Seccomp:")) {
                (
                    true,
                    "probably available (the kernel has seccomp; it does not list its actions)"
                        .into(),
                )
            } else {
                (false, "not available: this kernel has no seccomp".into())
            }
        }
    }
}

/// What `-V` prints.
pub fn version_text() -> String {
    let (_, seccomp) = seccomp_availability();
    let mut s = format!(
        "sproot {} (git commit {})\ntarget: {}-linux\nseccomp acceleration: {seccomp}",
        env!("CARGO_PKG_VERSION"),
        env!("SPROOT_GIT_COMMIT"),
        std::env::consts::ARCH,
    );
    if crate::environment::Environment::from_process().no_seccomp {
        s.push_str("; turned off by PROOT_NO_SECCOMP");
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn try_parse(args: &[&str]) -> Result<Cli, clap::Error> {
        parse(std::iter::once("sproot").chain(args.iter().copied()))
    }

    fn parse_ok(args: &[&str]) -> Cli {
        try_parse(args).expect("parses")
    }

    #[test]
    fn options_stop_at_the_command() {
        let c = parse_ok(&["-r", "/x", "-b", "/dev", "ls", "-l", "-r"]);
        assert_eq!(c.root.as_deref(), Some("/x"));
        assert_eq!(c.binds, vec!["/dev"]);
        assert_eq!(c.command, vec!["ls", "-l", "-r"]);
    }

    #[test]
    fn an_option_s_value_may_start_with_a_dash_as_in_proot() {
        let c = parse_ok(&["-w", "-dir", "-b", "-host:/x", "-k", "-1", "true"]);
        assert_eq!(c.cwd.as_deref(), Some("-dir"));
        assert_eq!(c.binds, vec!["-host:/x"]);
        assert_eq!(c.kernel_release.as_deref(), Some("-1"));
        assert_eq!(c.command, vec!["true"]);
    }

    #[test]
    fn double_dash_starts_the_command() {
        let c = parse_ok(&["-r", "/x", "--", "-weird", "--frobnicate"]);
        assert_eq!(c.command, vec!["-weird", "--frobnicate"]);
    }

    #[test]
    fn unknown_options_before_the_command_are_refused() {
        for bad in ["--frobnicate", "-x"] {
            let e = try_parse(&["-r", "/x", bad, "true"]).expect_err(bad);
            let (text, code) = error_report(&e);
            assert_eq!(code, 1);
            assert!(
                text.starts_with(&format!("sproot error: unknown option '{bad}'")),
                "{text}"
            );
        }
    }

    #[test]
    fn stats_takes_its_file_only_when_attached() {
        let c = parse_ok(&["-r", "/x", "--stats", "/bin/true"]);
        assert_eq!(c.stats.as_deref(), Some("-"));
        assert_eq!(c.command, vec!["/bin/true"]);
        let c = parse_ok(&["--stats=/tmp/s", "true"]);
        assert_eq!(c.stats.as_deref(), Some("/tmp/s"));
        assert_eq!(c.command, vec!["true"]);
    }

    #[test]
    fn long_forms_and_aliases_parse() {
        let c = parse_ok(&[
            "--rootfs=.",
            "--bind=/a:/b",
            "-m",
            "/c",
            "--mount=/d",
            "--pwd=/root",
            "--kill-on-exit",
        ]);
        assert_eq!(c.root.as_deref(), Some("."));
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
    fn the_last_of_rootfs_and_a_binding_of_slash_wins() {
        let c = parse_ok(&["-b", "/a:/", "-r", "/b", "-b", "/dev"]);
        assert_eq!(c.root.as_deref(), Some("/b"));
        assert_eq!(c.binds, vec!["/dev"]);
        let c = parse_ok(&["-r", "/b", "-b", "/a:/", "-b", "/dev"]);
        assert_eq!(c.root.as_deref(), Some("/a"));
        assert_eq!(c.binds, vec!["/dev"]);
        let c = parse_ok(&["-R", "/r", "-r", "/b"]);
        assert_eq!(c.root.as_deref(), Some("/b"));
        assert_eq!(c.rootfs_recommended.as_deref(), Some("/r"));
        let c = parse_ok(&["-r", "/a", "-r", "/b"]);
        assert_eq!(c.root.as_deref(), Some("/b"));
        assert_eq!(parse_ok(&["true"]).root, None);
    }

    #[test]
    fn the_last_of_root_id_and_change_id_wins() {
        assert_eq!(
            parse_ok(&["-0", "-i", "1:2"]).fake_id.as_deref(),
            Some("1:2")
        );
        assert_eq!(
            parse_ok(&["-i", "1:2", "-0"]).fake_id.as_deref(),
            Some("0:0")
        );
        assert_eq!(
            parse_ok(&["-S", "/s", "-i", "5:5"]).fake_id.as_deref(),
            Some("5:5")
        );
        assert_eq!(
            parse_ok(&["-i", "5:5", "-S", "/s"]).fake_id.as_deref(),
            Some("0:0")
        );
        assert_eq!(parse_ok(&["-r", "/"]).fake_id, None);
    }

    #[test]
    fn a_repeated_option_takes_the_last_value_as_in_proot() {
        let c = parse_ok(&["--change-id=0:0", "--change-id=1:1", "-b", "/x", "-b", "/y"]);
        assert_eq!(c.fake_id.as_deref(), Some("1:1"));
        assert_eq!(c.binds, vec!["/x", "/y"]);
    }

    #[test]
    fn negative_verbosity_parses() {
        assert_eq!(parse_ok(&["-v", "-1"]).verbose, Some(-1));
    }

    #[test]
    fn version_names_commit_arch_and_seccomp() {
        let v = version_text();
        assert!(v.contains(env!("CARGO_PKG_VERSION")), "{v}");
        assert!(v.contains(std::env::consts::ARCH), "{v}");
        assert!(v.contains("git commit "), "{v}");
        assert!(v.contains("seccomp acceleration: "), "{v}");
    }
}
