/* Floors of the ways a path syscall can be intercepted, measured with the
 * same loop of newfstatat(dirfd, "name", AT_SYMLINK_NOFOLLOW):
 *
 *   native       no filter
 *   trap         SECCOMP_RET_TRAP to an in-process SIGSYS handler that checks
 *                the name, fstat()s the dirfd and re-issues the call from an
 *                instruction the filter exempts (the proposed fast path)
 *   trace        SECCOMP_RET_TRACE under a minimal ptrace tracer that only
 *                resumes (the floor of any seccomp-ptrace tracer)
 *   trap-traced  the fast path of "trap" in a process that is ptraced, as
 *                every sproot guest is: the tracer only passes SIGSYS on
 *   notify       SECCOMP_RET_USER_NOTIF to a supervisor process that answers
 *                SECCOMP_USER_NOTIF_FLAG_CONTINUE (no ptrace stop at all)
 *   notify-sync  the same with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6)
 *
 * Everything runs on one CPU (argument CPU, default 0), so no cross-CPU
 * wake-up is counted. Prints "MODE NS-PER-CALL SIGNAL-STOPS SECCOMP-STOPS".
 *
 *   cc -O2 -o trap_floor trap_floor.c && ./trap_floor MODE [CALLS] [CPU]
 *
 * x86_64 only. Used by scripts/floors.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* gate(nr, a, b, c, d): a syscall from one known instruction. */
extern long gate(long nr, long a, long b, long c, long d);
extern char gate_after[];
__asm__(".text\n.globl gate\ngate:\n mov %rdi,%rax\n mov %rsi,%rdi\n mov %rdx,%rsi\n"
        " mov %rcx,%rdx\n mov %r8,%r10\n syscall\n.globl gate_after\ngate_after:\n ret\n");

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
    const char *name = (const char *)g[REG_RSI];
    struct stat dir;
    /* The fast path's checks: one name, relative to a real directory fd. */
    if ((int)g[REG_RDI] < 0 || strchr(name, '/') || gate(SYS_fstat, g[REG_RDI], (long)&dir, 0, 0) < 0
        || !S_ISDIR(dir.st_mode)) {
        g[REG_RAX] = -ENOSYS;
        return;
    }
    g[REG_RAX] = gate(si->si_syscall, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10]);
}

static void install(unsigned action) {
    unsigned long ip = (unsigned long)gate_after;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)ip, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(ip >> 32), 1, 0),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {sizeof f / sizeof f[0], f};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    if (sigaction(SIGSYS, &sa, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) {
        perror("trap_floor: install");
        exit(1);
    }
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static double loop(int calls);

/* A filter that sends newfstatat to a listener; returns the listener fd. */
static int install_notify(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return -1;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p);
}

/* Answers every notification with CONTINUE until the child is gone. */
static long supervise(int listener) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    long n = 0;
    for (;;) {
        struct pollfd pf = {listener, POLLIN, 0};
        if (poll(&pf, 1, -1) < 0 || (pf.revents & (POLLHUP | POLLERR))) return n;
        memset(&req, 0, sizeof req);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
            if (errno == EINTR || errno == ENOENT) continue;
            return n;
        }
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) n++;
    }
}

static int notify_mode(int calls, int sync) {
    int out[2], fdpipe[2];
    if (pipe(out) || pipe(fdpipe)) return 1;
    pid_t child = fork();
    if (child == 0) {
        int l = install_notify();
        if (l < 0 || write(fdpipe[1], &l, sizeof l) != sizeof l) _exit(1);
        double ns = loop(calls);
        if (write(out[1], &ns, sizeof ns) != sizeof ns) _exit(1);
        _exit(0);
    }
    close(out[1]);
    int remote, status;
    if (read(fdpipe[0], &remote, sizeof remote) != sizeof remote) return 1;
    int pidfd = syscall(SYS_pidfd_open, child, 0);
    int listener = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, remote, 0);
    if (listener < 0) {
        perror("trap_floor: pidfd_getfd");
        return 1;
    }
    if (sync && ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)) {
        perror("trap_floor: SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP");
        return 1;
    }
    long handled = supervise(listener);
    double ns = 0;
    waitpid(child, &status, 0);
    if (read(out[0], &ns, sizeof ns) != sizeof ns || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "trap_floor: the notified loop failed\n");
        return 1;
    }
    printf("%s %.0f 0 %ld\n", sync ? "notify-sync" : "notify", ns, handled);
    return 0;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* The measured loop; returns ns per call. */
static double loop(int calls) {
    int dfd = open("/usr/bin", O_RDONLY | O_DIRECTORY);
    struct stat st;
    if (dfd < 0 || fstatat(dfd, "ls", &st, AT_SYMLINK_NOFOLLOW)) {
        perror("trap_floor: fstatat /usr/bin/ls");
        exit(1);
    }
    double t0 = now_ns();
    for (int i = 0; i < calls; i++)
        if (fstatat(dfd, "ls", &st, AT_SYMLINK_NOFOLLOW)) {
            perror("trap_floor: fstatat");
            exit(1);
        }
    return (now_ns() - t0) / calls;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set)) perror("trap_floor: sched_setaffinity");
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "native";
    int calls = argc > 2 ? atoi(argv[2]) : 100000;
    pin(argc > 3 ? atoi(argv[3]) : 0);
    if (!strcmp(mode, "native") || !strcmp(mode, "trap")) {
        if (!strcmp(mode, "trap")) install(SECCOMP_RET_TRAP);
        printf("%s %.0f 0 0\n", mode, loop(calls));
        return 0;
    }
    if (!strcmp(mode, "notify") || !strcmp(mode, "notify-sync"))
        return notify_mode(calls, !strcmp(mode, "notify-sync"));
    int traced_trap = !strcmp(mode, "trap-traced");
    if (!traced_trap && strcmp(mode, "trace")) {
        fprintf(stderr, "trap_floor: unknown mode %s (native, trap, trace, trap-traced, notify, notify-sync)\n", mode);
        return 2;
    }
    int out[2];
    if (pipe(out)) return 1;
    pid_t child = fork();
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0)) _exit(1);
        raise(SIGSTOP);
        install(traced_trap ? SECCOMP_RET_TRAP : SECCOMP_RET_TRACE);
        double ns = loop(calls);
        if (write(out[1], &ns, sizeof ns) != sizeof ns) _exit(1);
        _exit(0);
    }
    int status;
    long sig_stops = 0, seccomp_stops = 0;
    waitpid(child, &status, 0);
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL);
    ptrace(PTRACE_CONT, child, 0, 0);
    for (;;) {
        if (waitpid(child, &status, 0) < 0) break;
        if (WIFEXITED(status) || WIFSIGNALED(status)) break;
        int sig = 0;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
            seccomp_stops++;
        else {
            sig = WSTOPSIG(status);
            sig_stops++;
        }
        ptrace(PTRACE_CONT, child, 0, sig);
    }
    double ns = 0;
    if (read(out[0], &ns, sizeof ns) != sizeof ns || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "trap_floor: %s: the traced loop failed\n", mode);
        return 1;
    }
    printf("%s %.0f %ld %ld\n", mode, ns, sig_stops, seccomp_stops);
    return 0;
}
