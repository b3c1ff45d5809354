//! Every signal a guest can use passes through sproot unchanged: the
//! real-time ones (32 to 64) included, as raised, queued with a payload,
//! sent by timers, broadcast by glibc's `setuid` to every thread, or fatal.
//! Each case runs under a real `chroot` of the same rootfs (as root) and
//! under sproot, and the two must agree.

mod common;

use common::*;
use std::process::{Command, Output};
use std::time::Duration;

const RTSIG_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught[65];
static volatile int payload[65];
static volatile int total;

static void on_sig(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    if (si->si_signo != sig) _exit(90);
    caught[sig]++;
    payload[sig] = si->si_value.sival_int;
    __atomic_add_fetch(&total, 1, __ATOMIC_SEQ_CST);
}

static void handle(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, 0) != 0) { perror("sigaction"); exit(2); }
}

/* Raise every real-time signal with a handler installed. */
static int raise_all(void) {
    int n = 0;
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) { handle(s); raise(s); n++; }
    int ok = 0;
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) ok += caught[s] == 1;
    printf("raised %d caught %d (SIGRTMIN %d SIGRTMAX %d)\n", n, ok, SIGRTMIN, SIGRTMAX);
    return 0;
}

/* A child blocked in read() receives queued real-time signals with payloads. */
static int queue_blocked(void) {
    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) { perror("pipe"); return 2; }
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 8; i++) handle(SIGRTMIN + i);
        handle(SIGRTMAX);
        char b = 'r';
        if (write(ready[1], &b, 1) != 1) _exit(3);
        if (read(go[0], &b, 1) != 1) _exit(4);
        for (int i = 0; i < 8; i++)
            printf("SIGRTMIN+%d x%d payload %d\n", i, caught[SIGRTMIN + i], payload[SIGRTMIN + i]);
        printf("SIGRTMAX x%d payload %d\n", caught[SIGRTMAX], payload[SIGRTMAX]);
        fflush(stdout);
        _exit(0);
    }
    char b;
    if (read(ready[0], &b, 1) != 1) return 5;
    usleep(20000); /* let the child block in read() */
    for (int i = 0; i < 8; i++) {
        union sigval v = { .sival_int = 1000 + i };
        if (sigqueue(c, SIGRTMIN + i, v)) { perror("sigqueue"); return 6; }
    }
    union sigval v = { .sival_int = -77 };
    sigqueue(c, SIGRTMAX, v);
    usleep(20000);
    if (write(go[1], "g", 1) != 1) return 7;
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* timer_create with SIGEV_SIGNAL on SIGRTMIN. */
static int timer(void) {
    handle(SIGRTMIN);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 77;
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t)) { perror("timer_create"); return 2; }
    struct itimerspec its = { { 0, 2000000 }, { 0, 2000000 } };
    if (timer_settime(t, 0, &its, 0)) { perror("timer_settime"); return 3; }
    while (caught[SIGRTMIN] < 20) sigsuspend(&old);
    timer_delete(t);
    printf("timer fired >= 20 times, payload %d\n", payload[SIGRTMIN]);
    return 0;
}

/* setgid/setuid with several threads: glibc broadcasts a real-time signal
   to every thread so that all of them change ids. */
static pthread_barrier_t bar;
static char lines[8][128];
static void *ids_thread(void *arg) {
    long k = (long)arg;
    pthread_barrier_wait(&bar); /* threads are up */
    pthread_barrier_wait(&bar); /* ids changed */
    unsigned r, e, s, gr, ge, gs;
    syscall(SYS_getresuid, &r, &e, &s);
    syscall(SYS_getresgid, &gr, &ge, &gs);
    snprintf(lines[k], sizeof lines[k], "thread %ld: uid %u/%u/%u gid %u/%u/%u", k, r, e, s, gr, ge, gs);
    return 0;
}
static int setxid(int gid, int uid) {
    pthread_t t[4];
    pthread_barrier_init(&bar, 0, 5);
    for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, ids_thread, (void *)i);
    pthread_barrier_wait(&bar);
    int a = setgid(gid), ea = a ? errno : 0;
    int b = setuid(uid), eb = b ? errno : 0;
    printf("setgid(%d) = %d %s\nsetuid(%d) = %d %s\n", gid, a, ea ? strerror(ea) : "",
           uid, b, eb ? strerror(eb) : "");
    pthread_barrier_wait(&bar);
    for (int i = 0; i < 4; i++) { pthread_join(t[i], 0); puts(lines[i]); }
    return 0;
}

/* Die of SIGRTMIN+n, default action. */
static int die(int n) {
    signal(SIGRTMIN + n, SIG_DFL);
    raise(SIGRTMIN + n);
    return 1;
}

/* A storm: threads created in bursts, each raising real-time signals at
   itself while the main thread sends others to it and broadcasts setgid. */
static pthread_barrier_t sbar;
static void *storm_thread(void *arg) {
    long k = (long)arg;
    for (int i = 0; i < 3; i++) raise(SIGRTMIN + (k + i) % 8);
    pthread_barrier_wait(&sbar);
    pthread_barrier_wait(&sbar);
    return 0;
}
static int storm(int rounds) {
    for (int i = 0; i < 8; i++) handle(SIGRTMIN + i);
    handle(SIGRTMAX);
    for (int r = 0; r < rounds; r++) {
        pthread_t t[16];
        pthread_barrier_init(&sbar, 0, 17);
        for (long i = 0; i < 16; i++)
            if (pthread_create(&t[i], 0, storm_thread, (void *)i)) { perror("pthread_create"); return 2; }
        pthread_barrier_wait(&sbar);
        for (int i = 0; i < 16; i++) pthread_kill(t[i], SIGRTMAX);
        if (setgid(getgid())) { perror("setgid"); return 3; }
        pthread_barrier_wait(&sbar);
        for (int i = 0; i < 16; i++) pthread_join(t[i], 0);
        pthread_barrier_destroy(&sbar);
    }
    printf("storm ok %d caught %d\n", rounds, total);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IOLBF, 0);
    if (argc < 2) return 64;
    if (!strcmp(argv[1], "raise-all")) return raise_all();
    if (!strcmp(argv[1], "queue-blocked")) return queue_blocked();
    if (!strcmp(argv[1], "timer")) return timer();
    if (!strcmp(argv[1], "setxid") && argc == 4) return setxid(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(argv[1], "die") && argc == 3) return die(atoi(argv[2]));
    if (!strcmp(argv[1], "storm") && argc == 3) return storm(atoi(argv[2]));
    return 64;
}
"#;

const PROG: &str = "/usr/bin/rtsig";

/// A tiny rootfs holding the test program.
fn guest() -> Option<TinyRootfs> {
    let bin = compile_c(RTSIG_C, &["-pthread"])?;
    let r = tiny_rootfs();
    r.install(&bin, PROG);
    if let Some(dir) = bin.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    Some(r)
}

fn is_root() -> bool {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    unsafe { libc::getuid() == 0 }
}

/// The program under a real chroot of the same rootfs, as `user` (`uid:gid`) if given.
fn native(r: &TinyRootfs, user: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new("chroot");
    if let Some(u) = user {
        cmd.arg(format!("--userspec={u}"));
    }
    cmd.arg(r.root()).arg(PROG).args(args);
    output_with_timeout(
        cmd,
        Duration::from_secs(30),
        &format!("chroot rtsig {args:?}"),
    )
}

/// The program under sproot with `opts`.
fn traced(r: &TinyRootfs, opts: &[&str], args: &[&str]) -> Output {
    let mut all: Vec<&str> = opts.to_vec();
    all.push(PROG);
    all.extend_from_slice(args);
    r.run_timeout(&all, 60)
}

/// The status as a shell reports it: the exit code, or 128+N for signal N.
fn shell_status(out: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    out.status
        .code()
        .or_else(|| out.status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// sproot with `opts` agrees with chroot (as `user`) on stdout and status;
/// without root, checks sproot against `expect_status` alone.
#[track_caller]
fn same_as_chroot(r: &TinyRootfs, opts: &[&str], user: Option<&str>, args: &[&str]) -> String {
    let got = traced(r, opts, args);
    assert!(
        !stderr_str(&got).contains("sproot error"),
        "sproot failed on rtsig {args:?}: {}",
        describe(&got)
    );
    if is_root() {
        let want = native(r, user, args);
        assert_eq!(
            (stdout_str(&got), shell_status(&got)),
            (stdout_str(&want), shell_status(&want)),
            "rtsig {args:?} under sproot {opts:?} differs from chroot\n--- chroot ---\n{}\n--- sproot ---\n{}",
            describe(&want),
            describe(&got)
        );
    } else {
        eprintln!("rtsig {args:?}: chroot comparison skipped (needs root)");
    }
    stdout_str(&got)
}

#[test]
fn every_real_time_signal_raised_with_a_handler_reaches_it() {
    let Some(r) = guest() else { return };
    let out = same_as_chroot(&r, &[], None, &["raise-all"]);
    let n = 64 - 34 + 1;
    assert!(out.starts_with(&format!("raised {n} caught {n} ")), "{out}");
}

#[test]
fn queued_real_time_signals_reach_a_process_blocked_in_a_syscall_with_their_payloads() {
    let Some(r) = guest() else { return };
    let out = same_as_chroot(&r, &[], None, &["queue-blocked"]);
    assert!(out.contains("SIGRTMIN+7 x1 payload 1007\n"), "{out}");
    assert!(out.contains("SIGRTMAX x1 payload -77\n"), "{out}");
}

#[test]
fn a_posix_timer_on_sigrtmin_fires_with_its_payload() {
    let Some(r) = guest() else { return };
    let out = same_as_chroot(&r, &[], None, &["timer"]);
    assert_eq!(out, "timer fired >= 20 times, payload 77\n");
}

#[test]
fn death_by_a_real_time_signal_exits_128_plus_n() {
    let Some(r) = guest() else { return };
    for n in [0, 5, 30] {
        let got = traced(&r, &[], &["die", &n.to_string()]);
        assert_eq!(
            shell_status(&got),
            128 + 34 + n,
            "SIGRTMIN+{n}: {}",
            describe(&got)
        );
        if is_root() {
            let want = native(&r, None, &["die", &n.to_string()]);
            assert_eq!(shell_status(&want), shell_status(&got));
        }
    }
}

#[test]
fn setuid_and_setgid_with_threads_change_every_thread_plainly_and_under_fake_root() {
    let Some(r) = guest() else { return };
    // As root (CI): the real calls succeed, natively and under sproot.
    // Under -0 the ids are emulated, and must look the same to the guest.
    if is_root() {
        let out = same_as_chroot(&r, &[], None, &["setxid", "2345", "1234"]);
        assert!(
            out.contains("thread 3: uid 1234/1234/1234 gid 2345/2345/2345"),
            "{out}"
        );
    }
    let out = same_as_chroot(&r, &["-0"], None, &["setxid", "2345", "1234"]);
    assert!(out.contains("setuid(1234) = 0"), "{out}");
    assert!(
        out.contains("thread 0: uid 1234/1234/1234 gid 2345/2345/2345"),
        "{out}"
    );
}

#[test]
fn setuid_with_threads_under_a_fake_user_behaves_as_that_user() {
    let Some(r) = guest() else { return };
    let ok = same_as_chroot(
        &r,
        &["-i", "1000:1000"],
        Some("1000:1000"),
        &["setxid", "1000", "1000"],
    );
    assert!(
        ok.contains("thread 2: uid 1000/1000/1000 gid 1000/1000/1000"),
        "{ok}"
    );
    let denied = same_as_chroot(
        &r,
        &["-i", "1000:1000"],
        Some("1000:1000"),
        &["setxid", "0", "0"],
    );
    assert!(
        denied.contains("setuid(0) = -1 Operation not permitted"),
        "{denied}"
    );
}

/// Storm runs with real-time signals mixed in, half of them in chaos order:
/// none may hang or fail.
#[test]
fn two_hundred_storms_with_real_time_signals_never_hang() {
    let Some(r) = guest() else { return };
    let rounds = "3";
    // 16 threads a round: 3 raised each, SIGRTMAX from the main thread, and
    // glibc's setxid broadcast (not counted: its handler is glibc's).
    let expect = format!("storm ok 3 caught {}\n", 3 * 16 * 4);
    for i in 0..200u64 {
        let mut cmd = r.sproot_cmd(&[PROG, "storm", rounds]);
        if i % 2 == 1 {
            cmd.env("SPROOT_CHAOS", (1000 + i).to_string());
        }
        let what = format!("storm run {i}");
        let out = output_with_timeout(cmd, Duration::from_secs(60), &what);
        assert_success(&out, &what);
        assert_eq!(stdout_str(&out), expect, "{what}: {}", describe(&out));
    }
}
