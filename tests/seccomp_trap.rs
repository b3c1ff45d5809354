//! A guest's own seccomp filter with `SECCOMP_RET_TRAP` (as sandboxes such
//! as Chromium's install) under sproot: its SIGSYS handler receives every
//! trapped call with the kernel's `siginfo` (`SYS_SECCOMP`, the syscall,
//! the filter's data), a call its handler re-issues from its own exempted
//! instruction is translated like any other, and the output matches a real
//! `chroot` of the same rootfs.
//!
//! Under the ptrace engine it also pins down why a traced guest has no
//! in-process fast path: in a traced process every `SIGSYS` of `RET_TRAP`
//! is a signal-delivery stop at the tracer. Under `SPROOT_ENGINE=inproc`
//! there is no tracer and no stop.

#![cfg(target_arch = "x86_64")]

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const SANDBOX_C: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define PPID_DATA 0x1234
#define STAT_DATA 0x0567

/* gate(nr, a, b, c, d): the sandbox's own exempted syscall instruction. */
extern long gate(long nr, long a, long b, long c, long d);
extern char gate_after[];
__asm__(".text\n.globl gate\ngate:\n mov %rdi,%rax\n mov %rsi,%rdi\n mov %rdx,%rsi\n"
        " mov %rcx,%rdx\n mov %r8,%r10\n syscall\n.globl gate_after\ngate_after:\n ret\n");

static volatile long ppid_calls, stat_calls, bad_info;

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
    if (sig != SIGSYS || si->si_code != 1 /* SYS_SECCOMP */) bad_info++;
    if (si->si_syscall == SYS_getppid && si->si_errno == PPID_DATA) {
        ppid_calls++;
        g[REG_RAX] = 4242;
    } else if (si->si_syscall == SYS_newfstatat && si->si_errno == STAT_DATA) {
        stat_calls++;
        g[REG_RAX] = gate(SYS_newfstatat, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10]);
    } else {
        bad_info++;
        g[REG_RAX] = -38;
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    unsigned long ip = (unsigned long)gate_after;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | PPID_DATA),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)ip, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(ip >> 32), 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | STAT_DATA),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (sigaction(SIGSYS, &sa, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("install");
        return 2;
    }
    long sum = 0;
    for (int i = 0; i < n; i++) sum += syscall(SYS_getppid);
    struct stat st;
    int r = fstatat(AT_FDCWD, "/etc/sandbox-marker", &st, 0);
    long size = r == 0 ? (long)st.st_size : -1;
    printf("getppid x%d sum %ld; handled %ld; marker stat %d size %ld; stats trapped %ld; bad %ld\n",
           n, sum, ppid_calls, r, size, stat_calls, bad_info);
    return 0;
}
"#;

const PROG: &str = "/usr/bin/sandbox";
const CALLS: usize = 200;

fn guest() -> Option<TinyRootfs> {
    let bin = compile_c(SANDBOX_C, &[])?;
    let r = tiny_rootfs();
    r.install(&bin, PROG);
    // Exists only inside the guest: an untranslated stat would not find it.
    r.write("/etc/sandbox-marker", "seventeen bytes!\n");
    if let Some(dir) = bin.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    Some(r)
}

fn is_root() -> bool {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    unsafe { libc::getuid() == 0 }
}

#[test]
fn a_guest_seccomp_trap_filter_gets_its_sigsys_and_its_reissued_stat_is_translated() {
    let Some(r) = guest() else { return };
    let stats = unique_temp_dir("trap-stats").join("stats");
    let stats_arg = format!("--stats={}", stats.display());
    let calls = CALLS.to_string();
    let got = r.run_timeout(&[&stats_arg, PROG, &calls], 60);
    assert_success(&got, "sandbox under sproot");
    let want_line = format!(
        "getppid x{CALLS} sum {}; handled {CALLS}; marker stat 0 size 17; stats trapped 1; bad 0\n",
        4242 * CALLS
    );
    assert_eq!(stdout_str(&got), want_line, "{}", describe(&got));
    if is_root() {
        let mut cmd = Command::new("chroot");
        cmd.arg(r.root()).arg(PROG).arg(&calls);
        let native = output_with_timeout(cmd, Duration::from_secs(30), "chroot sandbox");
        assert_eq!(
            stdout_str(&native),
            stdout_str(&got),
            "{}",
            describe(&native)
        );
    }

    let text = std::fs::read_to_string(&stats).expect("read --stats file");
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key)).then(|| w.next().map(str::to_string))?
        })
    };
    if value("engine").as_deref() == Some("inproc") {
        // The in-process engine: no tracer, no stop; the guest's traps
        // went to its handler in the process (the runtime keeps its
        // filter and judges the calls it translates by it).
        assert_eq!(value("stops").as_deref(), Some("0"), "{text}");
        if let Some(dir) = stats.parent() {
            remove_temp_dir(dir);
        }
        return;
    }
    // Every trapped call was also a signal-delivery stop at sproot.
    let signal_stops: usize = text
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("signal")).then(|| w.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no signal line in --stats:\n{text}"));
    assert!(
        signal_stops > CALLS,
        "{CALLS} trapped getppid calls and one trapped stat made {signal_stops} signal stops:\n{text}"
    );
    if let Some(dir) = stats.parent() {
        remove_temp_dir(dir);
    }
}
