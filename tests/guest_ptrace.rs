//! Guest ptrace: tracers and debuggers inside the guest (a small C tracer,
//! strace, strace -p, gdb) see what they see under a real `chroot` of the
//! same tree. The chroot side needs root (CI); without it those tests only
//! check sproot's output.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Run `args` under `unshare -m` + `chroot` of `root`, with each host
/// directory of `binds` bind-mounted at the same place inside. `None`
/// without root.
fn chroot_run(root: &TinyRootfs, binds: &[&str], args: &[&str]) -> Option<Output> {
    if !is_root() {
        eprintln!("skipped the chroot comparison: needs root");
        return None;
    }
    let mut script = String::new();
    for b in binds {
        script += &format!("mkdir -p \"$R{b}\" && mount --bind {b} \"$R{b}\" && ");
    }
    script += "exec chroot \"$R\" \"$@\"";
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script, "sh"])
        .args(args)
        .env_clear()
        .envs(GUEST_ENV)
        .env("R", root.root());
    Some(output_with_timeout(
        cmd,
        scaled(Duration::from_secs(120)),
        "chroot run",
    ))
}

/// The ways guest ptrace runs: with seccomp (sproot's default), without
/// (`--no-seccomp`: every syscall stops at sproot, and guest ptrace is
/// emulated at those stops), and under the in-process engine (the
/// processes a guest tracer concerns are taken in by the ptrace engine at
/// its first `ptrace` call).
const MODES: [&[&str]; 3] = [
    &["--engine=ptrace"],
    &["--no-seccomp"],
    &["--engine=inproc"],
];

/// `args` under sproot in each of [`MODES`], which must succeed and print
/// each of `wants`: the output of each mode.
fn outputs_in_modes(
    root: &TinyRootfs,
    args: &[&str],
    case: &str,
    wants: &[&str],
) -> Vec<(&'static [&'static str], String)> {
    MODES
        .iter()
        .map(|&mode| {
            let out = sproot_run_in(mode, root, &[], args);
            assert_success(&out, case);
            let got = stdout_str(&out);
            for w in wants {
                assert!(got.contains(w), "{mode:?} {case}: missing {w:?} in {got}");
            }
            (mode, got)
        })
        .collect()
}

/// sproot -r ROOT with sproot options `opts`, `-b` for each of `binds`,
/// then `args`.
fn sproot_run_in(opts: &[&str], root: &TinyRootfs, binds: &[&str], args: &[&str]) -> Output {
    let mut all: Vec<&str> = opts.to_vec();
    for b in binds {
        all.extend(["-b", b]);
    }
    all.extend_from_slice(args);
    let mut cmd = root.sproot_cmd(&all);
    cmd.env_clear().envs(GUEST_ENV);
    output_with_timeout(cmd, scaled(Duration::from_secs(120)), "sproot run")
}

/// The whole environment of both runs (the test's own has host paths).
const GUEST_ENV: [(&str, &str); 2] = [("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), ("LANG", "C")];

/// A C program compiled with the host's gcc, installed in the guest.
fn install_c(root: &TinyRootfs, src: &str, flags: &[&str], guest: &str) -> bool {
    let Some(bin) = compile_c(src, flags) else {
        return false;
    };
    root.install(&bin, guest);
    if let Some(dir) = bin.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    true
}

const COUNTING_TRACER: &str = r#"
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <sys/user.h>
#include <sys/syscall.h>
/* Counts the stops of a child traced with TRACEME + PTRACE_SYSCALL. */
int main(int argc, char **argv) {
    (void)argc;
    pid_t pid = fork();
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) { perror("TRACEME"); _exit(99); }
        raise(SIGSTOP);
        execv(argv[1], argv + 1);
        _exit(98);
    }
    int st, entries = 0, exits = 0, sigs = 0, execs = 0, in = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
        printf("first stop %#x\n", st);
        return 1;
    }
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    for (;;) {
        if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 1; }
        if (WIFEXITED(st)) break;
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
            struct user_regs_struct r;
            ptrace(PTRACE_GETREGS, pid, 0, &r);
            if (!in) entries++; else exits++;
            if (in && r.orig_rax == SYS_execve && r.rax == 0) execs++;
            in = !in;
            ptrace(PTRACE_SYSCALL, pid, 0, 0);
        } else {
            sigs++;
            ptrace(PTRACE_SYSCALL, pid, 0, WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
        }
    }
    printf("exit=%d entries=%d exits=%d signal_stops=%d execs=%d\n",
           WEXITSTATUS(st), entries, exits, sigs, execs);
    return 0;
}
"#;

#[test]
fn traceme_tracer_counts_the_same_stops_as_under_chroot() {
    let root = tiny_rootfs();
    if !install_c(&root, COUNTING_TRACER, &[], "/usr/bin/counter") {
        return;
    }
    let args = ["/usr/bin/counter", "/bin/cat", "/etc/sproot-guest"];
    let want = chroot_run(&root, &[], &args);
    for mode in MODES {
        let out = sproot_run_in(mode, &root, &[], &args);
        assert_success(&out, "counting tracer under sproot");
        let got = stdout_str(&out);
        assert!(
            got.contains("guest\nexit=0 entries="),
            "{mode:?}: {}",
            describe(&out)
        );
        assert!(
            got.contains("execs=1"),
            "{mode:?}: exec exit stop shown once: {got}"
        );
        if let Some(want) = &want {
            assert_success(want, "counting tracer under chroot");
            assert_eq!(
                got,
                stdout_str(want),
                "{mode:?}: stops differ from the kernel's"
            );
        }
    }
}

/// The lines of every `FILE.<pid>` strace wrote, one string per process,
/// with numbers and spacing made neutral; sorted.
fn strace_files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| neutral(&std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

fn neutral(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut l = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            // 0x... -> ADDR, runs of digits -> N.
            if c == '0' && chars.peek() == Some(&'x') {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    chars.next();
                }
                l += "ADDR";
            } else if c.is_ascii_digit() {
                while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                    chars.next();
                }
                l += "N";
            } else {
                l.push(c);
            }
        }
        // strace pads results to a column that depends on the numbers.
        out += &l.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push('\n');
    }
    out
}

#[test]
fn strace_f_of_a_pipeline_with_filters_and_output_file_matches_chroot() {
    let mut root = tiny_rootfs();
    if !root.install_host_program("strace") {
        eprintln!("skipped: no strace on the host");
        return;
    }
    let args = [
        "/usr/bin/strace",
        "-f",
        "-ff",
        "-qq",
        "-e",
        "trace=execve,openat,read,write,close",
        "-e",
        "signal=none",
        "-o",
        "/tmp/tr",
        "/bin/sh",
        "-c",
        "cat /etc/sproot-guest | wc -l",
    ];
    let clear = || {
        for f in std::fs::read_dir(root.host_path("/tmp")).unwrap().flatten() {
            std::fs::remove_file(f.path()).unwrap();
        }
    };
    let want = chroot_run(&root, &[], &args).map(|want| {
        assert_success(&want, "strace under chroot");
        let files = strace_files(&root.host_path("/tmp"), "tr.");
        clear();
        files
    });
    for mode in MODES {
        let out = sproot_run_in(mode, &root, &[], &args);
        assert_success(&out, "strace under sproot");
        assert_eq!(stdout_str(&out).trim(), "1", "{mode:?}");
        let got = strace_files(&root.host_path("/tmp"), "tr.");
        clear();
        assert_eq!(got.len(), 3, "{mode:?}: sh, cat, wc: {got:?}");
        let all = got.concat();
        assert!(
            all.contains("openat(AT_FDCWD, \"/etc/sproot-guest\", O_RDONLY) = N"),
            "{mode:?}: {all}"
        );
        assert!(
            all.contains("read(N, \"guest\\n\", N) = N"),
            "{mode:?}: {all}"
        );
        assert!(
            !all.contains(root.root()) && !all.contains("sproot-loader"),
            "{mode:?}: host paths or the loader leak into the trace: {all}"
        );
        if let Some(want) = &want {
            assert_eq!(&got, want, "{mode:?}: strace output differs from chroot's");
        }
    }
}

/// Under the in-process engine with fake root (and proot-distro's other
/// options), a process switched to the
/// ptrace engine (it runs under strace) and the untraced ones record and
/// read the same fake owners and `uname` names: what a real root sees
/// under `chroot`.
#[test]
fn fake_root_state_is_one_across_engines() {
    let mut root = tiny_rootfs();
    if !root.install_host_program("strace") {
        eprintln!("skipped: no strace on the host");
        return;
    }
    let script = "rm -f /tmp/o1 /tmp/o2; touch /tmp/o1 /tmp/o2; chown 1:2 /tmp/o1; \
                  strace -qq -o /dev/null sh -c 'chown 3:4 /tmp/o2; stat -c %u:%g /tmp/o1'; \
                  stat -c %u:%g /tmp/o2";
    let args = ["/bin/sh", "-c", script];
    // Unprivileged, so that a chown is a fake one.
    // proot-distro's options: -0 --link2symlink -L.
    let mut all = vec!["--engine=inproc", "-0", "-l", "-L", "-b", "/dev"];
    all.extend_from_slice(&args);
    let inner = root.sproot_cmd(&all);
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(inner.get_program())
            .args(inner.get_args());
        c
    } else {
        inner
    };
    cmd.env_clear().envs(GUEST_ENV);
    let out = output_with_timeout(cmd, scaled(Duration::from_secs(120)), "sproot -0");
    assert_success(&out, "chown and stat under strace and not");
    assert_eq!(stdout_str(&out), "1:2\n3:4\n");
    if let Some(want) = chroot_run(&root, &["/dev"], &args) {
        assert_success(&want, "chroot");
        assert_eq!(stdout_str(&out), stdout_str(&want));
    }
}

#[test]
fn strace_p_attaches_to_a_running_guest_process() {
    let mut root = tiny_rootfs();
    if !root.install_host_program("strace") {
        eprintln!("skipped: no strace on the host");
        return;
    }
    // The target sleeps already when strace attaches (a second to exec).
    let script = "sleep 6 & p=$!; sleep 1; strace -qq -p $p -o /tmp/p & s=$!; sleep 1; \
                  kill $p; wait $s; echo strace=$?";
    let args = ["/bin/sh", "-c", script];
    let want = chroot_run(&root, &["/dev"], &args).map(|want| {
        assert_success(&want, "strace -p under chroot");
        neutral(&std::fs::read_to_string(root.host_path("/tmp/p")).unwrap())
    });
    for mode in MODES {
        let out = sproot_run_in(mode, &root, &["/dev"], &args);
        assert_success(&out, "strace -p under sproot");
        assert_eq!(stdout_str(&out).trim(), "strace=0", "{mode:?}");
        let got = neutral(&std::fs::read_to_string(root.host_path("/tmp/p")).unwrap());
        assert!(got.contains("+++ killed by SIGTERM +++"), "{mode:?}: {got}");
        if let Some(want) = &want {
            assert_eq!(&got, want, "{mode:?}");
        }
    }
}

const PERMISSION_PROBE: &str = r#"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
static const char *r(long v) { return v == 0 ? "ok" : strerror(errno); }
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("attach self: %s\n", r(ptrace(PTRACE_ATTACH, getpid(), 0, 0)));
    printf("attach missing: %s\n", r(ptrace(PTRACE_ATTACH, 4194303, 0, 0)));
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    printf("cont of an untraced child: %s\n", r(ptrace(PTRACE_CONT, c, 0, 0)));
    printf("seize with bad options: %s\n", r(ptrace(PTRACE_SEIZE, c, 0, 1L << 30)));
    printf("seize: %s\n", r(ptrace(PTRACE_SEIZE, c, 0, 0)));
    printf("seize again: %s\n", r(ptrace(PTRACE_SEIZE, c, 0, 0)));
    printf("getregs while running: %s\n", r(ptrace(PTRACE_GETREGS, c, 0, 0)));
    printf("listen while running: %s\n", r(ptrace(PTRACE_LISTEN, c, 0, 0)));
    kill(c, SIGKILL);
    int st;
    printf("wait: %d\n", waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    pid_t d = fork();
    if (d == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        printf("traceme twice: %s\n", r(ptrace(PTRACE_TRACEME, 0, 0, 0)));
        _exit(3);
    }
    printf("exit of traced child: %d\n", waitpid(d, &st, 0) == d && WEXITSTATUS(st) == 3);
    return 0;
}
"#;

#[test]
fn ptrace_refusals_are_the_kernels() {
    let root = tiny_rootfs();
    if !install_c(&root, PERMISSION_PROBE, &[], "/usr/bin/probe") {
        return;
    }
    let want = chroot_run(&root, &[], &["/usr/bin/probe"]);
    for mode in MODES {
        probe_in(mode, &root, want.as_ref());
    }
}

fn probe_in(mode: &[&str], root: &TinyRootfs, chroot: Option<&Output>) {
    let out = sproot_run_in(mode, root, &[], &["/usr/bin/probe"]);
    assert_success(&out, "probe under sproot");
    let got = stdout_str(&out);
    for want in [
        "attach self: Operation not permitted",
        "attach missing: No such process",
        "cont of an untraced child: No such process",
        "seize with bad options: Input/output error",
        "seize: ok",
        "seize again: Operation not permitted",
        "getregs while running: No such process",
        "traceme twice: Operation not permitted",
        "wait: 1",
        "exit of traced child: 1",
    ] {
        assert!(got.contains(want), "{mode:?}: missing {want:?} in:\n{got}");
    }
    if let Some(want) = chroot {
        assert_success(want, "probe under chroot");
        assert_eq!(got, stdout_str(want), "{mode:?}");
    }
}

const DEBUGGEE: &str = r#"
#include <stdio.h>
static int square(int x) {
    int result = x * x;
    return result;
}
int main(void) {
    int total = 0;
    for (int i = 1; i <= 3; i++) total += square(i);
    printf("total=%d\n", total);
    return 0;
}
"#;

/// Host directories gdb needs at run time (its Python and data files).
fn gdb_runtime_dirs() -> Vec<String> {
    let mut v = vec!["/dev".to_string(), "/proc".to_string()];
    if Path::new("/usr/share/gdb").is_dir() {
        v.push("/usr/share/gdb".into());
    }
    if let Ok(d) = std::fs::read_dir("/usr/lib") {
        v.extend(
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("python3."))
                })
                .map(|p| p.to_string_lossy().into_owned()),
        );
    }
    v
}

#[test]
fn gdb_batch_breaks_prints_a_backtrace_and_a_variable_then_continues() {
    let mut root = tiny_rootfs();
    if !root.install_host_program("gdb") || !root.install_host_program("bash") {
        eprintln!("skipped: no gdb on the host");
        return;
    }
    if !install_c(&root, DEBUGGEE, &["-g", "-O0"], "/usr/bin/debuggee") {
        return;
    }
    let dirs = gdb_runtime_dirs();
    let binds: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let args = [
        "/usr/bin/gdb",
        "-batch",
        "-nx",
        "-ex",
        "break square",
        "-ex",
        "run",
        "-ex",
        "bt",
        "-ex",
        "print x",
        "-ex",
        "delete",
        "-ex",
        "continue",
        "/usr/bin/debuggee",
    ];
    // Load addresses differ (sproot's loader picks them); the rest must
    // not.
    let keep = |s: &str| {
        neutral(s)
            .lines()
            .filter(|l| !l.contains("process N"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let want = chroot_run(&root, &binds, &args).map(|w| keep(&stdout_str(&w)));
    for mode in MODES {
        let out = sproot_run_in(mode, &root, &binds, &args);
        let got = stdout_str(&out);
        for want in [
            "Breakpoint 1, square (x=1)",
            "#0  square (x=1)",
            "in main ()",
            "$1 = 1",
            "total=14",
            "exited normally",
        ] {
            assert!(
                got.contains(want),
                "{mode:?}: missing {want:?}: {}",
                describe(&out)
            );
        }
        if let Some(want) = &want {
            assert_eq!(&keep(&got), want, "{mode:?}");
        }
    }
}

const THREADS: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *run(void *a) { (void)a; for (int i = 0; i < 3; i++) getppid(); return NULL; }
int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, run, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    puts("joined");
    return 0;
}
"#;

#[test]
fn strace_f_follows_every_thread_of_a_multithreaded_program() {
    let mut root = tiny_rootfs();
    if !root.install_host_program("strace")
        || !install_c(&root, THREADS, &["-pthread"], "/usr/bin/threads")
    {
        return;
    }
    let args = [
        "/usr/bin/strace",
        "-f",
        "-qq",
        "-e",
        "trace=getppid,exit",
        "-o",
        "/tmp/t",
        "/usr/bin/threads",
    ];
    // Calls started (complete or unfinished) per syscall name.
    let count = |root: &TinyRootfs| {
        let t = std::fs::read_to_string(root.host_path("/tmp/t")).unwrap();
        (t.matches("getppid(").count(), t.matches(" exit(0").count())
    };
    for mode in MODES {
        let out = sproot_run_in(mode, &root, &[], &args);
        assert_success(&out, "strace -f of threads under sproot");
        assert_eq!(stdout_str(&out), "joined\n", "{mode:?}");
        assert_eq!(
            count(&root),
            (12, 4),
            "{mode:?}: 4 threads x 3 getppid, 4 exits"
        );
    }
    if let Some(want) = chroot_run(&root, &[], &args) {
        assert_success(&want, "strace -f of threads under chroot");
        assert_eq!(count(&root), (12, 4));
    }
}

#[test]
fn an_unprivileged_user_can_strace_and_trace_as_root_does() {
    if !is_root() {
        eprintln!("skipped: needs root to switch to the user nobody");
        return;
    }
    let mut root = tiny_rootfs();
    if !root.install_host_program("strace")
        || !install_c(&root, COUNTING_TRACER, &[], "/usr/bin/counter")
    {
        return;
    }
    for engine in ["--engine=ptrace", "--engine=inproc"] {
        strace_as_nobody(&root, engine);
    }
}

/// [`an_unprivileged_user_can_strace_and_trace_as_root_does`] with the
/// sproot option `engine`.
fn strace_as_nobody(root: &TinyRootfs, engine: &str) {
    for e in std::fs::read_dir(root.host_path("/tmp")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("u.") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let as_nobody = |args: &[&str]| {
        let mut all = vec![engine];
        all.extend_from_slice(args);
        let inner = root.sproot_cmd(&all);
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .envs(GUEST_ENV);
        output_with_timeout(c, scaled(Duration::from_secs(120)), "sproot as nobody")
    };
    let counter = ["/usr/bin/counter", "/bin/cat", "/etc/sproot-guest"];
    let mine = as_nobody(&counter);
    assert_success(&mine, "counting tracer as nobody");
    let as_root = sproot_run_in(&[engine], root, &[], &counter);
    assert_eq!(stdout_str(&mine), stdout_str(&as_root), "{engine}");
    // One output file per process (-ff): a call is never split by another
    // process's line ("<unfinished ...>").
    let strace = [
        "/usr/bin/strace",
        "-f",
        "-ff",
        "-qq",
        "-e",
        "trace=openat,execve",
        "-o",
        "/tmp/u",
        "/bin/sh",
        "-c",
        "cat /etc/sproot-guest | wc -l",
    ];
    let out = as_nobody(&strace);
    assert_success(&out, "strace as nobody");
    assert_eq!(stdout_str(&out).trim(), "1");
    let mut t = String::new();
    for e in std::fs::read_dir(root.host_path("/tmp")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("u.") {
            t.push_str(&std::fs::read_to_string(e.path()).unwrap());
        }
    }
    assert!(
        t.contains("\"/etc/sproot-guest\", O_RDONLY) = 3"),
        "{engine}: {t}"
    );
    assert_eq!(t.matches("execve(").count(), 3, "{engine}: {t}");
    assert!(!t.contains("SIGSYS"), "{engine}: {t}");
}

const LIFECYCLE: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
/* tracer-dies: the tracer exits while its tracee is stopped; the tracee
   runs on. late-wait: the tracee and a followed grandchild exit while the
   tracer sleeps; a later wait still collects both. */
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int st;
    if (argc > 1 && strcmp(argv[1], "tracer-dies") == 0) {
        pid_t tracer = fork();
        if (tracer == 0) {
            pid_t b = fork();
            if (b == 0) {
                ptrace(PTRACE_TRACEME, 0, 0, 0);
                raise(SIGSTOP);
                printf("tracee runs on after its tracer died\n");
                _exit(0);
            }
            waitpid(b, &st, 0);
            printf("tracee stopped: %d\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
            _exit(0);
        }
        waitpid(tracer, &st, 0);
        sleep(1);
        return 0;
    }
    pid_t b = fork();
    if (b == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        if (fork() == 0) _exit(5);
        _exit(7);
    }
    waitpid(b, &st, 0);
    ptrace(PTRACE_SETOPTIONS, b, 0, PTRACE_O_TRACEFORK);
    ptrace(PTRACE_CONT, b, 0, 0);
    int seen = 0;
    for (;;) {
        pid_t p = waitpid(-1, &st, __WALL);
        if (p < 0) break;
        if (WIFSTOPPED(st)) {
            if (st >> 16 == PTRACE_EVENT_FORK) printf("fork event\n");
            ptrace(PTRACE_CONT, p, 0, 0);
            /* The grandchild's first stop: both exit before the next wait. */
            if (p != b) sleep(1);
        } else if (WIFEXITED(st)) {
            printf("%s exited %d\n", p == b ? "tracee" : "grandchild", WEXITSTATUS(st));
            seen++;
        }
    }
    printf("exits seen: %d\n", seen);
    return 0;
}
"#;

#[test]
fn tracer_death_and_exits_while_the_tracer_sleeps_behave_as_under_chroot() {
    let root = tiny_rootfs();
    if !install_c(&root, LIFECYCLE, &[], "/usr/bin/lifecycle") {
        return;
    }
    for (case, wants) in [
        (
            "tracer-dies",
            &["tracee stopped: 1", "tracee runs on after its tracer died"][..],
        ),
        (
            "late-wait",
            &[
                "fork event",
                "grandchild exited 5",
                "tracee exited 7",
                "exits seen: 2",
            ][..],
        ),
    ] {
        let args = ["/usr/bin/lifecycle", case];
        let want = chroot_run(&root, &[], &args).map(|want| {
            assert_success(&want, case);
            let mut b: Vec<String> = stdout_str(&want).lines().map(String::from).collect();
            b.sort_unstable();
            b
        });
        for (mode, got) in outputs_in_modes(&root, &args, case, wants) {
            if let Some(want) = &want {
                let mut a: Vec<String> = got.lines().map(String::from).collect();
                a.sort_unstable();
                assert_eq!(&a, want, "{mode:?} {case}");
            }
        }
    }
}

/// A tiny rootfs with the sproot binary at /usr/bin/sproot (and the one
/// library it needs beyond what the shell has).
fn rootfs_with_sproot() -> TinyRootfs {
    let root = tiny_rootfs();
    root.install(&sproot_bin(), "/usr/bin/sproot");
    for lib in ["libgcc_s.so.1"] {
        for dir in ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"] {
            let host = Path::new(dir).join(lib);
            if host.exists() {
                root.install(&host, &format!("{dir}/{lib}"));
                break;
            }
        }
    }
    root
}

/// What the nested sproot runs: a binding of its own, a pipeline, a file
/// created and removed, `/proc/self/exe`, an exec, ids.
const NESTED_SCRIPT: &str = "cd /mnt/g && pwd && /bin/pwd && cat sproot-guest | wc -l \
    && echo made > /tmp/nested-file && cat /tmp/nested-file | wc -c \
    && test -f /tmp/nested-file && rm /tmp/nested-file && ! test -e /tmp/nested-file \
    && echo removed && readlink /proc/self/exe && sh -c 'exec /bin/echo exec ok' \
    && touch /tmp/nested-own && chown 12:34 /tmp/nested-own && stat -c %u:%g /tmp/nested-own \
    && rm /tmp/nested-own && id -u && id -g";

/// The inner sproot's command line.
fn inner_args<'a>(inner: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = vec!["/usr/bin/sproot"];
    args.extend_from_slice(inner);
    let rest = [
        "-r",
        "/",
        "-b",
        "/etc:/mnt/g",
        "/bin/sh",
        "-c",
        NESTED_SCRIPT,
    ];
    args.extend(rest);
    args
}

/// `sproot [outer...] sproot [inner...] -r / -b /etc:/mnt/g sh -c SCRIPT`.
fn nested_cmd(root: &TinyRootfs, outer: &[&str], inner: &[&str]) -> Command {
    let mut all: Vec<&str> = outer.to_vec();
    all.extend(["-b", "/proc", "-b", "/dev"]);
    all.extend(inner_args(inner));
    let mut cmd = root.sproot_cmd(&all);
    cmd.env_clear().envs(GUEST_ENV);
    cmd
}

/// The nested run under sproot (with `env` added), and the inner sproot
/// under chroot.
fn nested_runs(
    root: &TinyRootfs,
    outer: &[&str],
    inner: &[&str],
    env: &[(&str, &str)],
) -> (Output, Option<Output>) {
    let mut cmd = nested_cmd(root, outer, inner);
    cmd.envs(env.iter().copied());
    let got = output_with_timeout(cmd, scaled(Duration::from_secs(120)), "nested sproot");
    (
        got,
        chroot_run(root, &["/proc", "/dev"], &inner_args(inner)),
    )
}

#[test]
fn nested_sproot_runs_a_shell_command_as_under_chroot() {
    let root = rootfs_with_sproot();
    for (outer, inner) in [
        (&["--engine=ptrace"][..], &[][..]),
        (&["--engine=ptrace", "-0"][..], &["-0"][..]),
        (&["--engine=ptrace"][..], &["--engine=ptrace"][..]),
        (&["--no-seccomp"][..], &[][..]),
        (&["--no-seccomp", "-0"][..], &["-0"][..]),
        (&["--engine=inproc"][..], &[][..]),
        (&["--engine=inproc", "-0"][..], &["-0"][..]),
    ] {
        let (got, want) = nested_runs(&root, outer, inner, &[]);
        let what = format!("outer {outer:?}, inner {inner:?}");
        assert_success(&got, &what);
        let text = stdout_str(&got);
        let want_seen = "/mnt/g\n/mnt/g\n1\n5\nremoved\n/usr/bin/readlink\nexec ok\n";
        assert!(text.contains(want_seen), "{what}: {text}");
        if let Some(want) = want {
            assert_success(&want, "chroot");
            assert_eq!(text, stdout_str(&want), "{what}");
        }
    }
    // The in-process engine inside itself: its runtime's fixed address is
    // taken. `auto` picks the ptrace engine inside (above); asked for, it
    // is refused with a reason.
    let out = output_with_timeout(
        nested_cmd(&root, &["--engine=inproc"], &["--engine=inproc"]),
        scaled(Duration::from_secs(120)),
        "inproc inside inproc",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr_str(&out).contains("cannot run inside a sproot of the in-process engine"),
        "{out:?}"
    );
    if !is_root() {
        return;
    }
    // As an unprivileged user, fake root at both levels: what root sees.
    let as_root = nested_runs(&root, &["-0"], &["-0"], &[]).0;
    let inner = nested_cmd(&root, &["-0"], &["-0"]);
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .envs(GUEST_ENV);
    let mine = output_with_timeout(c, scaled(Duration::from_secs(120)), "nested as nobody");
    assert_success(&mine, "nested sproot as nobody");
    assert_eq!(stdout_str(&mine), stdout_str(&as_root));
}

#[test]
fn nested_sproot_under_chaos_event_order() {
    let root = rootfs_with_sproot();
    let want = nested_runs(&root, &["--engine=ptrace"], &[], &[]).0;
    assert_success(&want, "sorted order");
    for seed in ["1", "7", "42"] {
        let (got, _) = nested_runs(&root, &["--engine=ptrace"], &[], &[("SPROOT_CHAOS", seed)]);
        assert_success(&got, seed);
        assert_eq!(stdout_str(&got), stdout_str(&want), "seed {seed}");
    }
}

const SECCOMP_TRACE: &str = r#"#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
/* A seccomp filter that answers SECCOMP_RET_TRACE|0x42 for getppid and
   SECCOMP_RET_TRACE|0x43 for uname: "alone" (no tracer: ENOSYS) or
   "traced" (a parent with PTRACE_O_TRACESECCOMP sees both, lets getppid
   run and answers uname itself). */
static int install(int use_prctl) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x42),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x43),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = { sizeof f / sizeof f[0], f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return -1;
    if (use_prctl) return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p);
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
}
static void calls(const char *who) {
    long r = syscall(SYS_getppid);
    printf("%s: getppid %s\n", who, r > 0 ? "ran" : strerror(errno));
    errno = 0;
    r = syscall(SYS_uname, 0);
    printf("%s: uname = %ld %s\n", who, r, r < 0 ? strerror(errno) : "");
    r = syscall(SYS_getpid);
    printf("%s: getpid %s\n", who, r > 0 ? "ran" : strerror(errno));
    fflush(stdout);
}
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "alone")) {
        if (install(0)) { perror("seccomp"); return 1; }
        calls("alone");
        pid_t c = fork();
        if (c == 0) {
            calls("child");
            char *a[] = { argv[0], "after-exec", 0 };
            execv(argv[0], a);
            _exit(9);
        }
        int st;
        waitpid(c, &st, 0);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "after-exec")) {
        calls("exec");
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        if (install(1)) { perror("prctl"); _exit(1); }
        calls("traced");
        _exit(0);
    }
    int st;
    waitpid(pid, &st, WUNTRACED);
    ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL);
    kill(pid, SIGCONT);
    for (;;) {
        if (waitpid(pid, &st, __WALL) != pid) { perror("waitpid"); return 1; }
        if (WIFEXITED(st)) { printf("tracee exited %d\n", WEXITSTATUS(st)); break; }
        if (st >> 8 == (SIGTRAP | PTRACE_EVENT_SECCOMP << 8)) {
            unsigned long msg = 0;
            struct user_regs_struct r;
            ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
            ptrace(PTRACE_GETREGS, pid, 0, &r);
            printf("seccomp stop: data %#lx syscall %s\n", msg,
                   r.orig_rax == SYS_getppid ? "getppid" : r.orig_rax == SYS_uname ? "uname" : "other");
            fflush(stdout);
            if (r.orig_rax == SYS_uname) {
                r.orig_rax = -1;
                r.rax = 4321;
                ptrace(PTRACE_SETREGS, pid, 0, &r);
            }
            ptrace(PTRACE_CONT, pid, 0, 0);
        } else {
            int sig = WSTOPSIG(st);
            ptrace(PTRACE_CONT, pid, 0, (st >> 16) ? 0 : sig);
        }
    }
    return 0;
}
"#;

#[test]
fn seccomp_ret_trace_is_enosys_alone_and_a_seccomp_stop_for_a_tracer() {
    let root = tiny_rootfs();
    if !install_c(&root, SECCOMP_TRACE, &[], "/usr/bin/sctrace") {
        return;
    }
    for (case, wants) in [
        (
            "alone",
            &[
                "alone: getppid Function not implemented",
                "exec: uname = -1 Function not implemented",
                "child: getpid ran",
            ][..],
        ),
        (
            "traced",
            &[
                "seccomp stop: data 0x42 syscall getppid",
                "seccomp stop: data 0x43 syscall uname",
                "traced: getppid ran",
                "traced: uname = 4321",
                "tracee exited 0",
            ][..],
        ),
    ] {
        let args = ["/usr/bin/sctrace", case];
        let want = chroot_run(&root, &[], &args);
        for (mode, got) in outputs_in_modes(&root, &args, case, wants) {
            if let Some(want) = &want {
                assert_success(want, case);
                assert_eq!(got, stdout_str(want), "{mode:?} {case}");
            }
        }
    }
}

#[test]
fn strace_f_of_a_pipeline_under_chaos_event_order() {
    let mut root = tiny_rootfs();
    if !root.install_host_program("strace") {
        eprintln!("skipped: no strace on the host");
        return;
    }
    for (mode, seed) in [
        (&["--engine=ptrace"][..], "3"),
        (&["--engine=ptrace"], "11"),
        (&["--engine=ptrace"], "99"),
        (&["--no-seccomp"], "5"),
    ] {
        let args = [
            "/usr/bin/strace",
            "-f",
            "-qq",
            "-e",
            "trace=openat,execve,exit_group",
            "-o",
            "/tmp/chaos",
            "/bin/sh",
            "-c",
            "cat /etc/sproot-guest | wc -l",
        ];
        let all: Vec<&str> = mode.iter().chain(&args).copied().collect();
        let mut cmd = root.sproot_cmd(&all);
        cmd.env_clear().envs(GUEST_ENV).env("SPROOT_CHAOS", seed);
        let out = output_with_timeout(cmd, scaled(Duration::from_secs(120)), "strace, chaos");
        assert_success(&out, seed);
        assert_eq!(stdout_str(&out).trim(), "1", "seed {seed}");
        let t = std::fs::read_to_string(root.host_path("/tmp/chaos")).unwrap();
        // The open may be split by another process's line (unfinished,
        // then resumed).
        let norm = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
        let lines: Vec<String> = t.lines().map(norm).collect();
        let opened = lines.iter().enumerate().any(|(i, l)| {
            let pid = l.split(' ').next().unwrap_or("");
            l.contains("\"/etc/sproot-guest\", O_RDONLY) = 3")
                || (l.contains("\"/etc/sproot-guest\", O_RDONLY <unfinished ...>")
                    && lines[i + 1..]
                        .iter()
                        .find(|m| m.starts_with(&format!("{pid} <... openat resumed>")))
                        .is_some_and(|m| m.ends_with("= 3")))
        });
        assert!(opened, "{mode:?} seed {seed}: {t}");
        assert_eq!(t.matches("execve(").count(), 3, "seed {seed}: {t}");
        // (An exit_group may be split too: "exit_group(0 <unfinished ...>".)
        assert_eq!(t.matches("exit_group(0").count(), 3, "seed {seed}: {t}");
    }
}
