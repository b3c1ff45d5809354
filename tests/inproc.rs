//! `--engine=inproc`: the guest runs untraced and its syscalls are
//! translated by the runtime inside each guest process. What a guest sees
//! is compared with `unshare -m` + `chroot` of the same tree.

mod common;

use common::*;
use std::process::{Command, Output};
use std::time::Duration;

fn inproc_available() -> bool {
    cfg!(any(target_arch = "x86_64", target_arch = "aarch64"))
}

/// `sproot --engine=inproc -r ROOT -b /proc -b /dev -w / ARGS...`.
fn inproc(rootfs: &TinyRootfs, args: &[&str]) -> Output {
    let mut all = vec!["--engine=inproc", "-b", "/proc", "-b", "/dev", "-w", "/"];
    all.extend_from_slice(args);
    rootfs.run(&all)
}

/// The same command in a real chroot with /proc and /dev bound, or `None`
/// when no chroot can be made here.
fn chroot(rootfs: &TinyRootfs, args: &[&str]) -> Option<Output> {
    chroot_with_binds(rootfs.root(), &[("/proc", "/proc"), ("/dev", "/dev")], args)
}

/// Run under both; they must print the same. Returns sproot's stdout.
#[track_caller]
fn same_as_chroot(rootfs: &TinyRootfs, args: &[&str]) -> String {
    same_as_chroot_with(rootfs, &[], args)
}

/// [`same_as_chroot`], with sproot's options `opts` (which must not change
/// what the guest sees of a chroot).
#[track_caller]
fn same_as_chroot_with(rootfs: &TinyRootfs, opts: &[&str], args: &[&str]) -> String {
    let all: Vec<&str> = opts.iter().chain(args).copied().collect();
    let ours = inproc(rootfs, &all);
    assert_success(&ours, "the command under --engine=inproc");
    let text = stdout_str(&ours);
    if let Some(theirs) = chroot(rootfs, args) {
        assert_success(&theirs, "the command in a chroot");
        assert_eq!(
            text,
            stdout_str(&theirs),
            "--engine=inproc (left) and chroot (right) differ"
        );
    }
    text
}

/// A tiny rootfs with the C program `src` (built with `flags`) at /prog
/// and /tmp; `None`, with a note, when the engine or a C compiler is
/// missing here.
fn with_program(src: &str, flags: &[&str]) -> Option<TinyRootfs> {
    if !inproc_available() {
        return None;
    }
    let Some(bin) = compile_c(src, flags) else {
        eprintln!("note: skipping: no C compiler");
        return None;
    };
    let rootfs = tiny_rootfs();
    rootfs.install(&bin, "/prog");
    std::fs::create_dir_all(rootfs.host_path("/tmp")).unwrap();
    Some(rootfs)
}

#[test]
fn a_shell_session_sees_what_a_chroot_shows() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    std::fs::write(rootfs.host_path("/etc/motd"), "in the guest\n").unwrap();
    let script = r#"
        cat /etc/motd
        cd /usr/bin && pwd && /bin/pwd
        cd ../lib64 && pwd
        cd /
        readlink /proc/self/exe
        ls -l /bin/sh | sed 's/.* -> //'
        mkdir -p /tmp/d/e && touch /tmp/d/e/f && mv /tmp/d/e/f /tmp/d/g && ls /tmp/d
        ln -s /tmp/d/g /tmp/l && echo through-link > /tmp/l && cat /tmp/d/g
        rm -r /tmp/d /tmp/l
        printf '#!/bin/sh -e\necho script "$0" "$1"\n' > /tmp/s.sh
        chmod +x /tmp/s.sh && /tmp/s.sh arg && cd /tmp && ./s.sh rel
        cd /
        env | grep -c SPROOT_INPROC || true
        grep -c . /proc/self/environ >/dev/null && echo environ read
        find / -xdev -name motd
        ls /nonexistent 2>&1 | sed 's/.*: //'
        sh -c 'exec sh -c "echo nested exec: \$0" named'
        mkdir /tmp/many && cd /tmp/many && seq 3000 | xargs touch && cd /
        ls -l /tmp/many | wc -l
        rm -r /tmp/many
        for i in $(seq 150); do /bin/true; done; echo after 150 vfork-execs
        grep -E '^Sig(Blk|Ign)' /proc/self/status
        sleep 30 & pid=$!; sleep 0.1; kill -TERM $pid; wait $pid; echo "killed: $?"
    "#;
    let out = same_as_chroot(&rootfs, &["/bin/sh", "-c", script]);
    assert!(out.contains("in the guest"), "{out}");
    assert!(out.contains("script /tmp/s.sh arg"), "{out}");
    assert!(out.contains("nested exec: named"), "{out}");
    assert!(out.contains("\n0\n"), "the hand-off leaked: {out}");
    // dash runs commands with vfork: each child's execve leaves its slot
    // taken in the shared memory, which the parent takes back.
    assert!(out.contains("after 150 vfork-execs"), "{out}");
    // An exec'd program starts with the guest's mask, not the handler's.
    assert!(out.contains("SigBlk:\t0000000000000000"), "{out}");
    assert!(out.contains("killed: 143"), "{out}");
    // 3,000 names looked up: the caches grow past the small blocks.
    assert!(out.contains("\n3001\n"), "{out}");
}

const PROGRAM_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static int failures;

static void *worker(void *arg) {
    struct stat st;
    for (int i = 0; i < 3000; i++) {
        if (stat("/etc/motd", &st) != 0 || st.st_size != 13) __atomic_add_fetch(&failures, 1, 0);
        int fd = open("/etc/motd", O_RDONLY);
        if (fd < 0) __atomic_add_fetch(&failures, 1, 0); else close(fd);
    }
    return arg;
}

static void on_sigsys(int sig) { (void)sig; }
static const char *usr1_stat = "not run";
static void on_usr1(int sig) {
    struct stat st;
    (void)sig;
    usr1_stat = stat("/etc/motd", &st) == 0 && st.st_size == 13 ? "stat ok" : "stat failed";
}

int main(void) {
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, worker, NULL);
    /* fork while other threads are inside trapped calls */
    for (int i = 0; i < 20; i++) {
        pid_t p = fork();
        if (p == 0) {
            struct stat st;
            _exit(stat("/etc/motd", &st) == 0 && st.st_size == 13 ? 0 : 1);
        }
        int status;
        waitpid(p, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures++;
    }
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    printf("threads and forks: %d failures\n", failures);

    pid_t child;
    char *argv[] = {"sh", "-c", "test -f /etc/motd && echo spawned", NULL};
    int r = posix_spawn(&child, "/bin/sh", NULL, NULL, argv, environ);
    int status = 0;
    if (r == 0) waitpid(child, &status, 0);
    printf("posix_spawn: %d, exit %d\n", r, WEXITSTATUS(status));
    fflush(stdout);

    /* The guest's own SIGSYS action reads back as it set it. */
    struct sigaction sa = {0}, old = {0};
    sa.sa_handler = on_sigsys;
    sigaction(SIGSYS, &sa, NULL);
    sigaction(SIGSYS, NULL, &old);
    printf("SIGSYS action kept: %s\n", old.sa_handler == on_sigsys ? "yes" : "no");

    /* The mask a guest sets is the one it has, and reads back. */
    sigset_t usr1, before, now;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &before);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("SIGUSR1 blocked: %d, before: %d\n", sigismember(&now, SIGUSR1), sigismember(&before, SIGUSR1));
    raise(SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("SIGUSR1 pending: %d\n", sigismember(&pending, SIGUSR1));
    /* A handler run by sigsuspend with every other signal blocked makes a
       translated call. */
    struct sigaction su = {0};
    su.sa_handler = on_usr1;
    sigaction(SIGUSR1, &su, NULL);
    sigset_t all_but;
    sigfillset(&all_but);
    sigdelset(&all_but, SIGUSR1);
    sigsuspend(&all_but);
    printf("handler under sigsuspend: %s\n", usr1_stat);

    /* A blocked SIGSYS does not stop translation. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct stat st;
    printf("stat with SIGSYS blocked: %s\n", stat("/etc/motd", &st) == 0 ? "ok" : strerror(errno));

    /* Bad pointers get EFAULT, as from the kernel. */
    long e = syscall(SYS_newfstatat, AT_FDCWD, NULL, &st, 0);
    printf("NULL path: %s\n", e < 0 && errno == EFAULT ? "EFAULT" : "other");

    /* The process is not traced. */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "TracerPid:", 10) == 0) printf("%s", line);
    return 0;
}
"#;

#[test]
fn threads_forks_spawns_and_signal_settings_behave_as_natively() {
    let Some(rootfs) = with_program(PROGRAM_C, &["-pthread"]) else {
        return;
    };
    std::fs::write(rootfs.host_path("/etc/motd"), "in the guest\n").unwrap();
    let out = same_as_chroot(&rootfs, &["/prog"]);
    for want in [
        "threads and forks: 0 failures",
        "spawned",
        "posix_spawn: 0, exit 0",
        "SIGSYS action kept: yes",
        "SIGUSR1 blocked: 1, before: 0",
        "SIGUSR1 pending: 1",
        "handler under sigsuspend: stat ok",
        "stat with SIGSYS blocked: ok",
        "NULL path: EFAULT",
        "TracerPid:\t0",
    ] {
        assert!(out.contains(want), "no {want:?} in\n{out}");
    }
}

#[test]
fn options_that_need_a_tracer_run_the_session_under_the_ptrace_engine() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    // --no-seccomp stops every syscall: a tracer's work.
    let out = rootfs.run(&[
        "--engine=inproc",
        "--no-seccomp",
        "-v",
        "1",
        "/bin/sh",
        "-c",
        "cd /usr/bin && pwd",
    ]);
    assert_success(&out, "--engine=inproc --no-seccomp");
    assert_eq!(stdout_str(&out), "/usr/bin\n");
    assert!(
        stderr_str(&out).contains("needs a tracer: the ptrace engine runs this session"),
        "{}",
        describe(&out)
    );
    // --stats counts the calls the runtime translated.
    let out = rootfs.run(&[
        "--engine=inproc",
        "--stats",
        "/bin/sh",
        "-c",
        "ls / >/dev/null",
    ]);
    assert_success(&out, "--engine=inproc --stats");
    let err = stderr_str(&out);
    assert!(err.contains("engine                 inproc"), "{err}");
    let translated: u64 = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("translated"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(translated > 0, "{err}");
    let out = rootfs.run(&["--engine=bogus", "/bin/true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr_str(&out).contains("bogus"), "{}", describe(&out));
    // A program that cannot run: the shell's statuses.
    let out = inproc(&rootfs, &["/no/such/program"]);
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert!(stderr_str(&out).contains("/no/such/program"));
}

#[test]
fn the_runtime_started_alone_says_what_it_needs() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let tmp = unique_temp_dir("inproc-tmp");
    let mut cmd = sproot_cmd(&["--engine=inproc", "-r", rootfs.root(), "/bin/true"]);
    cmd.env("PROOT_TMP_DIR", &tmp);
    let out = output_with_timeout(cmd, Duration::from_secs(60), "sproot");
    assert_success(&out, "sproot --engine=inproc /bin/true");
    let runtime = std::fs::read_dir(&tmp)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sproot-runtime-"))
        })
        .expect("the runtime installed in PROOT_TMP_DIR");
    let out = output_with_timeout(
        Command::new(&runtime),
        Duration::from_secs(10),
        "the runtime",
    );
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert!(
        stderr_str(&out).contains("--engine=inproc"),
        "{}",
        describe(&out)
    );
    remove_temp_dir(&tmp);
}

#[test]
fn exit_statuses_and_signals_come_back_as_a_shell_reports_them() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let out = inproc(&rootfs, &["/bin/sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    let out = inproc(&rootfs, &["/bin/sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + 15), "{}", describe(&out));
    // A guest writing to a closed pipe dies of SIGPIPE, as from a shell.
    let out = inproc(&rootfs, &["/bin/sh", "-c", "yes | head -1"]);
    assert_success(&out, "yes | head -1");
    assert_eq!(stdout_str(&out), "y\n");
}

const BLOCKING_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int rang;
static void on_alarm(int sig) { (void)sig; rang++; }

int main(void) {
    mkfifo("/tmp/fifo", 0600);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    /* No SA_RESTART: the blocked open is interrupted. */
    alarm(1);
    int fd = open("/tmp/fifo", O_RDONLY);
    printf("open without SA_RESTART: %s, handler ran %d\n", fd < 0 ? strerror(errno) : "opened", rang);
    /* SA_RESTART: the open goes on after the handler, until a writer comes. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pid_t w = fork();
    if (w == 0) {
        sleep(2);
        int o = open("/tmp/fifo", O_WRONLY);
        _exit(o < 0);
    }
    alarm(1);
    fd = open("/tmp/fifo", O_RDONLY);
    printf("open with SA_RESTART: %s, handler ran %d\n", fd < 0 ? strerror(errno) : "opened", rang);
    waitpid(w, NULL, 0);
    unlink("/tmp/fifo");
    return 0;
}
"#;

#[test]
fn a_signal_interrupts_a_blocked_translated_call_as_natively() {
    let Some(rootfs) = with_program(BLOCKING_C, &[]) else {
        return;
    };
    let out = same_as_chroot(&rootfs, &["/prog"]);
    assert!(
        out.contains("open without SA_RESTART: Interrupted system call, handler ran 1"),
        "{out}"
    );
    assert!(
        out.contains("open with SA_RESTART: opened, handler ran 2"),
        "{out}"
    );
}

/// Processes whose command line is `sleep 9871`.
fn sleepers() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == b"sleep\09871\0")
        })
        .collect()
}

#[test]
fn sproot_killed_takes_its_guests_down() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let mut cmd = sproot_cmd(&[
        "--engine=inproc",
        "-r",
        rootfs.root(),
        "-b",
        "/dev",
        "/bin/sh",
        "-c",
        "sleep 9871 & sleep 9871 & : > /tmp/ready; wait",
    ]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start sproot");
    let ready = rootfs.host_path("/tmp/ready");
    let start = std::time::Instant::now();
    while !ready.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ready.exists(), "the guest did not start");
    while sleepers().len() < 2 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sleepers().len(), 2, "the guest's sleepers did not start");
    // SAFETY: kill(2) takes no pointers.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let start = std::time::Instant::now();
    while !sleepers().is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = sleepers();
    for pid in &left {
        // SAFETY: as above.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "guests outlived sproot: {left:?}");
}

/// `-l`: hard links emulated with symlinks look, to every later process,
/// like the chroot's real hard links: link counts, one inode, content
/// through either name, removal of one name; `-H` hides nothing here.
#[test]
fn hard_links_under_dash_l_look_like_a_chroot_s_real_ones() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let script = r#"
        mkdir /tmp/h && cd /tmp/h
        echo one > a && ln a b && ln b c
        stat -c '%h %F' a b c
        [ "$(stat -c %i a)" = "$(stat -c %i c)" ] && echo same inode
        echo two >> c && cat a
        ls -l | sed 's/ .*//' | sort | uniq -c
        rm a && cat b && stat -c %h b
        mv c d && ls
        rm b d && ls -a
        cd / && rm -r /tmp/h && echo gone
    "#;
    let out = same_as_chroot_with(&rootfs, &["-l", "-H"], &["/bin/sh", "-c", script]);
    assert!(out.contains("3 regular file"), "{out}");
    assert!(out.contains("same inode"), "{out}");
    assert!(out.contains("gone"), "{out}");
    // On the host, in PRoot's layout: the names are symlinks.
    let made = inproc(
        &rootfs,
        &[
            "-l",
            "/bin/sh",
            "-c",
            "echo x > /tmp/k && ln /tmp/k /tmp/k2",
        ],
    );
    assert_success(&made, "ln under -l");
    let k2 = rootfs.host_path("/tmp/k2");
    assert!(k2.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(rootfs.host_path("/tmp/.l2s.k0001.0002").is_file());
}

/// A host directory bound at two guest paths reads back by the name the
/// process used, in the process, its fork children and the programs it
/// execs (`/bin/pwd`), as a chroot with two bind mounts shows.
#[test]
fn a_directory_bound_twice_reads_back_by_the_name_used_across_exec() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let dir = unique_temp_dir("inproc-twice");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for g in ["/x", "/y"] {
        std::fs::create_dir_all(rootfs.host_path(g)).unwrap();
    }
    let d = dir.to_str().unwrap();
    let script = "cd /y/sub && pwd && /bin/pwd && readlink /proc/self/cwd && sh -c pwd && \
                  cd /x && /bin/pwd && (cd sub && /bin/pwd)";
    let x = format!("{d}:/x");
    let y = format!("{d}:/y");
    let ours = inproc(&rootfs, &["-b", &x, "-b", &y, "/bin/sh", "-c", script]);
    assert_success(&ours, "inproc");
    let text = stdout_str(&ours);
    assert_eq!(
        text,
        "/y/sub\n/y/sub\n/y/sub\n/y/sub\n/x\n/x/sub\n",
        "{}",
        describe(&ours)
    );
    let binds = [("/proc", "/proc"), ("/dev", "/dev"), (d, "/x"), (d, "/y")];
    if let Some(theirs) = chroot_with_binds(rootfs.root(), &binds, &["/bin/sh", "-c", script]) {
        assert_success(&theirs, "chroot");
        assert_eq!(
            text,
            stdout_str(&theirs),
            "inproc (left) and chroot (right)"
        );
    }
}

/// A guest's own seccomp filter that fails `mkdirat` of one string (by
/// its address) with `EACCES` and `getppid` with `ERRNO(7)`: it judges the
/// guest's own arguments, not the translated call the runtime re-issues,
/// for the calls the runtime translates (`mkdirat`) and those it does not
/// (`getppid`), across `execve`, while other paths are still translated;
/// the same as in a chroot.
const GUEST_FILTER_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The filter knows this string by its address, as the guest passes it. */
static char made[] = "/tmp/made-by-guest";

static void report(const char *when) {
    errno = 0;
    /* After exec the string has another address: another directory. */
    const char *path = strcmp(when, "after exec") ? made : "/tmp/made-after-exec";
    long r = syscall(SYS_mkdirat, AT_FDCWD, path, 0755);
    int e1 = errno;
    if (r == 0) rmdir(path);
    errno = 0;
    long p = syscall(SYS_getppid);
    int e2 = errno;
    struct stat st;
    int m = stat("/etc/guest-marker", &st);
    printf("%s: mkdirat %ld errno %d; getppid %ld errno %d; marker %d size %ld\n", when, r, e1,
           p < 0 ? p : 1, e2, m, m == 0 ? (long)st.st_size : -1L);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        report("after exec");
        return 0;
    }
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(unsigned long)made, 0, 4),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 7),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    report("before");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
        perror("install");
        return 2;
    }
    report("filtered");
    fflush(stdout);
    execl("/prog", "/prog", "again", (char *)0);
    perror("execl");
    return 3;
}
"#;

#[test]
fn a_guest_seccomp_filter_answers_its_calls_across_exec() {
    let Some(rootfs) = with_program(GUEST_FILTER_C, &[]) else {
        return;
    };
    std::fs::write(rootfs.host_path("/etc/guest-marker"), "12345\n").unwrap();
    let out = same_as_chroot(&rootfs, &["/prog"]);
    assert_eq!(
        out,
        "before: mkdirat 0 errno 0; getppid 1 errno 0; marker 0 size 6\n\
         filtered: mkdirat -1 errno 13; getppid -1 errno 7; marker 0 size 6\n\
         after exec: mkdirat 0 errno 0; getppid -1 errno 7; marker 0 size 6\n"
    );
}

/// A guest's own `ptrace` runs natively under the in-process engine (a
/// guest tracer sees the runtime at work): the run says so once, at the
/// first call, whichever process makes it, and the call answers as in a
/// chroot.
const GUEST_PTRACE_C: &str = r#"
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) {
            /* Formatted first: once traced, a call the runtime translates
               would be a signal stop for this parent, which does not
               expect one (what the notice is about). */
            char line[64];
            int n = snprintf(line, sizeof line, "child %d: traceme ", i);
            long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
            line[n++] = r == 0 ? '0' : '?';
            line[n++] = '\n';
            write(1, line, n);
            _exit(0);
        }
        int st;
        waitpid(p, &st, 0);
    }
    printf("parent: peek of no tracee %ld\n", ptrace(PTRACE_PEEKUSER, getpid(), 0, 0));
    return 0;
}
"#;

/// Each child's `PTRACE_TRACEME` takes it and its parent to the ptrace
/// engine (tracer/adopt.rs): no warning, the kernel's answers, and `-v`
/// says which processes went.
#[test]
fn a_guest_tracer_and_its_tracees_go_to_the_ptrace_engine() {
    let Some(rootfs) = with_program(GUEST_PTRACE_C, &[]) else {
        return;
    };
    let out = same_as_chroot(&rootfs, &["/prog"]);
    assert_eq!(
        out,
        "child 0: traceme 0\nchild 1: traceme 0\nparent: peek of no tracee -1\n"
    );
    let got = inproc(&rootfs, &["/prog"]);
    let err = stderr_str(&got);
    assert!(!err.contains("uses ptrace"), "{err}");
    let got = inproc(&rootfs, &["-v", "1", "/prog"]);
    let err = stderr_str(&got);
    assert_eq!(
        err.matches("uses ptrace: traced by sproot").count(),
        2,
        "the first child and its parent (the second child is traced from birth):\n{err}"
    );
}

/// A guest that closes every descriptor and puts other directories at the
/// numbers the runtime held: a UNIX socket whose host path is too long
/// for `sun_path` still lands where the guest named it (the runtime checks
/// a held directory before naming it), as in a chroot.
const CLOSE_ALL_C: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int bind_at(const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    return bind(s, (struct sockaddr *)&a, sizeof a);
}

static const char *kind(const char *path) {
    struct stat st;
    if (lstat(path, &st)) return "missing";
    return S_ISSOCK(st.st_mode) ? "socket" : "other";
}

int main(void) {
    unlink("/mnt/s/a.sock");
    unlink("/mnt/s/b.sock");
    printf("bind a: %d\n", bind_at("/mnt/s/a.sock"));
    syscall(SYS_close_range, 3, ~0U, 0);
    int root = open("/tmp", O_PATH | O_DIRECTORY);
    for (int n = 500; n < 700; n++) dup2(root, n);
    printf("bind b: %d\n", bind_at("/mnt/s/b.sock"));
    printf("a: %s, b: %s, b in /tmp: %s\n", kind("/mnt/s/a.sock"), kind("/mnt/s/b.sock"),
           kind("/tmp/b.sock"));
    unlink("/mnt/s/a.sock");
    unlink("/mnt/s/b.sock");
    return 0;
}
"#;

#[test]
fn a_guest_that_closes_every_descriptor_keeps_long_socket_paths_right() {
    let Some(rootfs) = with_program(CLOSE_ALL_C, &[]) else {
        return;
    };
    std::fs::create_dir_all(rootfs.host_path("/mnt/s")).unwrap();
    let top = unique_temp_dir("inproc-long-socket");
    let long = top.join("a".repeat(60)).join("b".repeat(60));
    std::fs::create_dir_all(&long).unwrap();
    let long = long.to_str().expect("utf-8").to_string();
    let spec = format!("{long}:/mnt/s");
    let want = "bind a: 0\nbind b: 0\na: socket, b: socket, b in /tmp: missing\n";
    let ours = inproc(&rootfs, &["-b", &spec, "/prog"]);
    assert_success(&ours, "the program under --engine=inproc");
    assert_eq!(stdout_str(&ours), want);
    if let Some(theirs) = chroot_with_binds(rootfs.root(), &[(&long, "/mnt/s")], &["/prog"]) {
        assert_success(&theirs, "the program in a chroot");
        assert_eq!(stdout_str(&theirs), want);
    }
    remove_temp_dir(&top);
}

/// `/proc/self/environ` of a guest program (the first one, and one a
/// guest execs) shows its environment and not the runtime's hand-off.
#[test]
fn proc_self_environ_does_not_show_the_hand_off() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let script = "tr '\\0' '\\n' < /proc/self/environ; echo --; \
                  exec /bin/sh -c \"tr '\\\\0' '\\\\n' < /proc/self/environ\"";
    let out = inproc(
        &rootfs,
        &["/usr/bin/env", "-i", "MARK=1", "/bin/sh", "-c", script],
    );
    assert_success(&out, "environ");
    let text = stdout_str(&out);
    assert!(!text.contains("SPROOT_INPROC"), "{text}");
    assert_eq!(text.matches("MARK=1").count(), 2, "{text}");
}

/// A timeout done with `siglongjmp` out of a `SIGALRM` handler that
/// interrupted a waiting translated call (the `open` of a FIFO nobody
/// writes), 100 times: each jump abandons a runtime handler, whose slot is
/// taken back (there are 64), and the program runs on as in a chroot.
const SIGLONGJMP_C: &str = r#"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static sigjmp_buf env;
static void on_alarm(int sig) { (void)sig; siglongjmp(env, 1); }

int main(void) {
    unlink("/tmp/fifo");
    if (mkfifo("/tmp/fifo", 0600)) { perror("mkfifo"); return 2; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, 0);
    int jumps = 0, opened = 0;
    for (int i = 0; i < 100; i++) {
        if (sigsetjmp(env, 1) == 0) {
            struct itimerval t = {{0, 0}, {0, 2000}};
            setitimer(ITIMER_REAL, &t, 0);
            int fd = open("/tmp/fifo", O_RDONLY);
            if (fd >= 0) { opened++; close(fd); }
        } else {
            jumps++;
        }
    }
    struct stat st;
    printf("jumps %d, opened %d, stat after: %d\n", jumps, opened, stat("/tmp/fifo", &st));
    unlink("/tmp/fifo");
    return 0;
}
"#;

#[test]
fn handlers_left_by_siglongjmp_give_their_slots_back() {
    let Some(rootfs) = with_program(SIGLONGJMP_C, &[]) else {
        return;
    };
    let out = same_as_chroot(&rootfs, &["/prog"]);
    assert_eq!(out, "jumps 100, opened 0, stat after: 0\n");
}

/// The review's cases: a `SIGSYS` a process sends to a guest that
/// ignores it; a program run from a memfd that runs `/proc/self/exe`
/// again; a filter one thread installs without `TSYNC` while another
/// thread runs (the other's calls are not judged by it). As in a chroot.
const REVIEW_CASES_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *filtered_thread(void *arg) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    int fd = open("/etc/passwd", O_RDONLY);
    *(int *)arg = fd < 0 ? errno : 0;
    return (void *)r;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "again") == 0) {
        printf("ran again through /proc/self/exe\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "memfd") == 0) {
        fflush(stdout);
        char *a[] = {argv[0], "again", NULL};
        execve("/proc/self/exe", a, environ);
        printf("exec /proc/self/exe: %s\n", strerror(errno));
        return 1;
    }
    signal(SIGSYS, SIG_IGN);
    kill(getpid(), SIGSYS);
    printf("ignored SIGSYS: alive\n");
    fflush(stdout);
    int self = open("/prog", O_RDONLY), m = memfd_create("copy", MFD_CLOEXEC);
    char b[65536];
    ssize_t n;
    while ((n = read(self, b, sizeof b)) > 0) write(m, b, n);
    pid_t p = fork();
    if (p == 0) {
        char *a[] = {"prog", "memfd", NULL};
        fexecve(m, a, environ);
        _exit(9);
    }
    int st;
    waitpid(p, &st, 0);
    printf("memfd child: exit %d\n", WEXITSTATUS(st));
    int in_thread = -1;
    pthread_t t;
    pthread_create(&t, 0, filtered_thread, &in_thread);
    void *r;
    pthread_join(t, &r);
    int fd = open("/etc/passwd", O_RDONLY);
    printf("filter %ld; open in its thread: %s; in main: %s\n", (long)r,
           in_thread ? strerror(in_thread) : "ok", fd >= 0 ? "ok" : strerror(errno));
    return 0;
}
"#;

#[test]
fn sent_sigsys_memfd_reexec_and_one_threads_filter_behave_as_natively() {
    let Some(rootfs) = with_program(REVIEW_CASES_C, &["-pthread"]) else {
        return;
    };
    let out = same_as_chroot(&rootfs, &["/prog"]);
    assert_eq!(
        out,
        "ignored SIGSYS: alive\nran again through /proc/self/exe\nmemfd child: exit 0\n\
         filter 0; open in its thread: Operation not permitted; in main: ok\n"
    );
}

/// `/proc/<pid>/exe` of other guest processes: a child that ran another
/// program, and a fork child that has not run one (its parent's), as in a
/// chroot.
#[test]
fn other_guest_processes_show_their_programs_as_exe() {
    if !inproc_available() {
        return;
    }
    let rootfs = tiny_rootfs();
    let script = "(while :; do sleep 0.05; done) & sleep 0.3; readlink /proc/$!/exe; kill $!; \
                  sleep 2 & sleep 0.3; readlink /proc/$!/exe; kill $!";
    let out = same_as_chroot(&rootfs, &["/bin/sh", "-c", script]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].ends_with("/sleep"), "{out}");
    assert!(!out.contains("runtime"), "{out}");
}
