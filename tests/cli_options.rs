//! Every option of the command line, run alone and in proot-distro's
//! combination: each does what `--help` says, and sproot prints nothing on
//! stderr that it does not mean (a warning that claims an option works
//! differently than it does fails here). An option without a case below
//! fails the test, so a new option must say how it is checked.

mod common;

use clap::CommandFactory;
use common::*;
use sproot::cli::Cli;
use std::collections::BTreeSet;
use std::process::Output;

const T: u64 = 30;

/// How one option is checked: the arguments before the command, the shell
/// script the guest runs, what it must print, and what sproot may print on
/// stderr (`None`: nothing at all).
struct Case {
    id: &'static str,
    args: Vec<String>,
    script: &'static str,
    stdout: String,
    stderr_starts: Option<&'static str>,
}

fn case(id: &'static str, args: &[&str], script: &'static str, stdout: &str) -> Case {
    Case {
        id,
        args: args.iter().map(|s| s.to_string()).collect(),
        script,
        stdout: stdout.to_string(),
        stderr_starts: None,
    }
}

fn cases(r: &TinyRootfs) -> Vec<Case> {
    let root = r.root().to_string();
    let host_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut c = vec![
        case(
            "rootfs",
            &["-r", &root],
            "cat /etc/sproot-guest",
            GUEST_MARKER,
        ),
        case(
            "binds",
            &["-b", "/dev"],
            "test -c /dev/null && echo ok",
            "ok\n",
        ),
        case("cwd", &["-w", "/etc"], "pwd", "/etc\n"),
        case("kill_on_exit", &["--kill-on-exit"], "echo ok", "ok\n"),
        Case {
            stderr_starts: Some("sproot info: "),
            ..case("verbose", &["-v", "1"], "echo ok", "ok\n")
        },
        case(
            "rootfs_recommended",
            &["-R", &root],
            "cat /etc/sproot-guest /etc/hosts",
            &format!("{GUEST_MARKER}{host_hosts}"),
        ),
        case("rootfs_safe", &["-S", &root], "id -u; id -g", "0\n0\n"),
        case(
            "no_seccomp",
            &["--no-seccomp"],
            "cat /etc/sproot-guest",
            GUEST_MARKER,
        ),
        Case {
            stderr_starts: Some("sproot stats:\n"),
            ..case("stats", &["--stats"], "echo ok", "ok\n")
        },
        case("spin_us", &["--spin-us", "0"], "echo ok", "ok\n"),
        case(
            "no_path_cache",
            &["--no-path-cache"],
            "cat /etc/sproot-guest",
            GUEST_MARKER,
        ),
        case("placement", &["--placement", "free"], "echo ok", "ok\n"),
        case("placement", &["--placement=pinned"], "echo ok", "ok\n"),
        case("placement", &["--placement", "adaptive"], "echo ok", "ok\n"),
        case("pin", &["--pin"], "echo ok", "ok\n"),
        case(
            "engine",
            &["--engine=ptrace", "-b", "/proc"],
            TRACED,
            "traced\n",
        ),
        case(
            "persist_ownership",
            &["-0", "--persist-ownership"],
            "id -u",
            "0\n",
        ),
        case("root_id", &["-0"], "id -u; id -g", "0\n0\n"),
        case(
            "change_id",
            &["-i", "1234:4321"],
            "id -u; id -g",
            "1234\n4321\n",
        ),
        case(
            "kernel_release",
            &["-k", "9.8.7-sproot"],
            "uname -r",
            "9.8.7-sproot\n",
        ),
        case(
            "link2symlink",
            &["-l"],
            "cd /tmp && echo a > f && ln f g && rm f && cat g",
            "a\n",
        ),
        case("sysvipc", &["--sysvipc"], "echo ok", "ok\n"),
        case(
            "symlink_sizes",
            &["-L"],
            "ln -s /etc/sproot-guest /tmp/l && stat -c %s /tmp/l",
            "17\n",
        ),
        case("port_switch", &["-p"], "echo ok", "ok\n"),
        case("port_map", &["-p", "80:8080"], "echo ok", "ok\n"),
        case("netcoop", &["-n"], "echo ok", "ok\n"),
        // Native programs run directly under -q (tests/qemu.rs runs foreign ones).
        case(
            "qemu",
            &["-q", "qemu-aarch64-static"],
            "cat /etc/sproot-guest",
            GUEST_MARKER,
        ),
        case(
            "hide_proot_files",
            &["-H"],
            "touch /tmp/.proot-x && ls -a /tmp | grep -c proot || true",
            "0\n",
        ),
        case("ashmem_memfd", &["--ashmem-memfd"], "echo ok", "ok\n"),
    ];
    // The in-process engine: the guest is not traced.
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        c.push(case(
            "engine",
            &["--engine=inproc", "-b", "/proc"],
            TRACED,
            "untraced\n",
        ));
    }
    // Options that do not start a guest.
    for id in ["version", "help", "command"] {
        c.push(case(id, &[], "", ""));
    }
    c
}

/// Whether the guest is traced, from its own `/proc/self/status`.
const TRACED: &str =
    "grep -q '^TracerPid:[[:space:]]*0$' /proc/self/status && echo untraced || echo traced";

fn run_case(r: &TinyRootfs, args: &[String], script: &str) -> Output {
    let mut all: Vec<&str> = vec!["-r", r.root()];
    all.extend(args.iter().map(String::as_str));
    all.extend(["/bin/sh", "-c", script]);
    run_timeout(&all, T)
}

#[test]
fn every_option_alone_does_what_it_says_without_a_misleading_word() {
    let cmd = Cli::command();
    let ids: BTreeSet<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let r = tiny_rootfs();
    let cases = cases(&r);
    let covered: BTreeSet<String> = cases.iter().map(|c| c.id.to_string()).collect();
    let missing: Vec<&String> = ids.difference(&covered).collect();
    assert!(missing.is_empty(), "options without a case: {missing:?}");

    for c in cases.iter().filter(|c| !c.script.is_empty()) {
        let out = run_case(&r, &c.args, c.script);
        let what = format!("{} ({})", c.id, c.args.join(" "));
        assert_success(&out, &what);
        assert_eq!(stdout_str(&out), c.stdout, "{what}\n{}", describe(&out));
        let err = stderr_str(&out);
        match c.stderr_starts {
            None => assert_eq!(err, "", "{what} printed on stderr\n{}", describe(&out)),
            Some(start) => {
                assert!(err.starts_with(start), "{what}\n{}", describe(&out));
                assert!(!err.contains("warning"), "{what}\n{}", describe(&out));
            }
        }
    }

    // -V and --help print and exit.
    let out = run_timeout(&["-V"], T);
    assert_success(&out, "-V");
    assert!(
        stdout_str(&out).starts_with("sproot "),
        "{}",
        describe(&out)
    );
    let out = run_timeout(&["--help"], T);
    assert_success(&out, "--help");
    assert!(
        stdout_str(&out).contains("Usage: sproot"),
        "{}",
        describe(&out)
    );
}

/// The options proot-distro passes to start a distribution's login shell
/// (on a host that has the paths it binds).
#[test]
fn proot_distro_s_combination_runs_without_a_misleading_word() {
    let r = tiny_rootfs();
    let empty = unique_temp_dir("cli-distro-empty");
    let selinux = format!("--bind={}:/sys/fs/selinux", empty.display());
    let shm = format!("--bind={}:/dev/shm", r.host_path("/tmp").display());
    let mut all: Vec<&str> = vec!["--rootfs", r.root()];
    all.extend(PROOT_DISTRO_OPTIONS);
    all.extend([selinux.as_str(), shm.as_str()]);
    all.extend([
        "/usr/bin/env",
        "-i",
        "HOME=/root",
        "PATH=/usr/bin:/bin",
        "/bin/sh",
        "-c",
        "id -u; uname -r; uname -n; pwd; echo $PWD; test -c /dev/random && echo random",
    ]);
    let out = run_timeout(&all, T);
    assert_success(&out, "proot-distro's options");
    assert_eq!(
        stdout_str(&out),
        "0\n6.17.0-PRoot-Distro\nlocalhost\n/root\n/root\nrandom\n",
        "{}",
        describe(&out)
    );
    assert_eq!(stderr_str(&out), "", "{}", describe(&out));
    remove_temp_dir(&empty);
}
