/*
 * A guest with a seccomp filter of its own: getppid gets SECCOMP_RET_TRAP
 * with data 0x1234, and its SIGSYS handler answers 4242. Under the Android
 * app policy the same process also gets SIGSYS (data 0) for the calls the
 * policy traps; the guest's handler must see only its own.
 *
 * Prints "trapped N of N, sum S, foreign F" (F: SIGSYS that were not its own).
 * Build static: gcc -O1 -static -o guest-trap guest-trap.c
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#define SET_RESULT(uc, v) ((uc)->uc_mcontext.gregs[REG_RAX] = (v))
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#define SET_RESULT(uc, v) ((uc)->uc_mcontext.regs[0] = (v))
#endif

#define DATA 0x1234
#define CALLS 20

static volatile int own, foreign;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    if (si->si_code == 1 /* SYS_SECCOMP */ && si->si_syscall == SYS_getppid &&
        si->si_errno == DATA) {
        own++;
        SET_RESULT((ucontext_t *)ctx, 4242);
    } else {
        foreign++;
        SET_RESULT((ucontext_t *)ctx, -38);
    }
}

int main(void)
{
    struct sigaction sa;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | DATA),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    long sum = 0;
    int i;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    if (sigaction(SIGSYS, &sa, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("guest-trap: install");
        return 2;
    }
    for (i = 0; i < CALLS; i++)
        sum += syscall(SYS_getppid);
    printf("trapped %d of %d, sum %ld, foreign %d\n", own, CALLS, sum, foreign);
    return 0;
}
