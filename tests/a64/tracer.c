/* A small aarch64 tracer, compared under chroot and under sproot by
 * vm-suite.sh: a child does PTRACE_TRACEME, stops itself, makes a few
 * syscalls and execs /bin/true; the parent follows it with PTRACE_SYSCALL
 * and prints, for a fixed set of syscalls, what it sees at their entry and
 * exit (read with PTRACE_GETREGSET NT_PRSTATUS and PTRACE_PEEKDATA), the
 * exec event, the registers after execve, and the exit status. At the
 * entry of getppid it turns the call into getpid through NT_ARM_SYSTEM_CALL,
 * and at the entry of gettid into faccessat of the path the child passed
 * (a path call, which sproot must translate as that call).
 * `tracer seize` and `tracer fork`: see seize() and follow().
 * Only what is the same on every run is printed (no pids, no addresses). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/ptrace.h>

#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif

static pid_t child;

static const char *name(long nr) {
    switch (nr) {
    case SYS_getpid: return "getpid";
    case SYS_getppid: return "getppid";
    case SYS_gettid: return "gettid";
    case SYS_openat: return "openat";
    case SYS_write: return "write";
    case SYS_execve: return "execve";
    case SYS_exit_group: return "exit_group";
    default: return NULL;
    }
}

static void die(const char *what) {
    printf("%s: %s\n", what, strerror(errno));
    exit(1);
}

static void getregs(struct user_pt_regs *r) {
    struct iovec iov = { r, sizeof *r };
    if (ptrace(PTRACE_GETREGSET, child, (void *)NT_PRSTATUS, &iov) < 0)
        die("GETREGSET NT_PRSTATUS");
    if (iov.iov_len != sizeof *r)
        printf("GETREGSET NT_PRSTATUS: %zu bytes\n", iov.iov_len);
}

static int get_sysno(void) {
    int nr;
    struct iovec iov = { &nr, sizeof nr };
    if (ptrace(PTRACE_GETREGSET, child, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0)
        die("GETREGSET NT_ARM_SYSTEM_CALL");
    return nr;
}

/* A string of the child's memory, read with PTRACE_PEEKDATA. */
static void peek_string(unsigned long addr, char *out, size_t max) {
    size_t n = 0;
    while (n + 8 < max) {
        errno = 0;
        long w = ptrace(PTRACE_PEEKDATA, child, (void *)(addr + n), 0);
        if (errno)
            die("PEEKDATA");
        memcpy(out + n, &w, 8);
        if (memchr(&w, 0, 8))
            return;
        n += 8;
    }
    out[n] = 0;
}

static void entry(const struct user_pt_regs *r) {
    long nr = r->regs[8];
    char s[256];
    switch (nr) {
    case SYS_openat:
    case SYS_execve:
        peek_string(r->regs[nr == SYS_openat ? 1 : 0], s, sizeof s);
        printf("entry %s(\"%s\")\n", name(nr), s);
        break;
    case SYS_write:
        printf("entry write(%llu, ..., %llu)\n", r->regs[0], r->regs[2]);
        break;
    case SYS_exit_group:
        printf("entry exit_group(%llu)\n", r->regs[0]);
        break;
    case SYS_getppid: {
        printf("entry getppid, made getpid\n");
        int to = SYS_getpid;
        struct iovec iov = { &to, sizeof to };
        if (ptrace(PTRACE_SETREGSET, child, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0)
            die("SETREGSET NT_ARM_SYSTEM_CALL");
        printf("syscall number now %s\n", name(get_sysno()));
        break;
    }
    case SYS_gettid: {
        /* gettid(path) becomes faccessat(AT_FDCWD, path, F_OK, 0). */
        struct user_pt_regs w = *r;
        w.regs[0] = (unsigned long long)AT_FDCWD;
        w.regs[1] = r->regs[0];
        w.regs[2] = F_OK;
        w.regs[3] = 0;
        struct iovec regs = { &w, sizeof w };
        if (ptrace(PTRACE_SETREGSET, child, (void *)NT_PRSTATUS, &regs) < 0)
            die("SETREGSET NT_PRSTATUS");
        int to = SYS_faccessat;
        struct iovec iov = { &to, sizeof to };
        if (ptrace(PTRACE_SETREGSET, child, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0)
            die("SETREGSET NT_ARM_SYSTEM_CALL");
        printf("entry gettid, made faccessat: syscall number now %s\n",
               get_sysno() == SYS_faccessat ? "faccessat" : "other");
        break;
    }
    default:
        if (name(nr))
            printf("entry %s\n", name(nr));
    }
}

/* AT_BASE of the child, from /proc/<pid>/auxv. */
static unsigned long at_base(void) {
    char path[64];
    unsigned long v[2], base = 0;
    snprintf(path, sizeof path, "/proc/%d/auxv", child);
    FILE *f = fopen(path, "r");
    if (!f)
        die("open auxv");
    while (fread(v, sizeof v, 1, f) == 1 && v[0] != AT_NULL)
        if (v[0] == AT_BASE)
            base = v[1];
    fclose(f);
    return base;
}

static void after_execve(const struct user_pt_regs *r) {
    printf("after execve: x0-x30 not zero:");
    for (int i = 0; i < 31; i++)
        if (r->regs[i])
            printf(" x%d=%llu", i, r->regs[i]);
    printf("; syscall number %s\n", name(get_sysno()) ? name(get_sysno()) : "other");
    errno = 0;
    long argc = ptrace(PTRACE_PEEKDATA, child, (void *)r->sp, 0);
    char argv0[64];
    peek_string(ptrace(PTRACE_PEEKDATA, child, (void *)(r->sp + 8), 0), argv0, sizeof argv0);
    printf("after execve: argc %ld, argv[0] %s\n", argc, argv0);
    unsigned long base = at_base();
    printf("after execve: interpreter %s, pc at its entry offset %#llx\n",
           base ? "yes" : "no", r->pc - base);
}

static void exit_(const struct user_pt_regs *r, long nr) {
    long ret = (long)r->regs[0];
    if (!name(nr))
        return;
    if (nr == SYS_getpid || nr == SYS_getppid)
        printf("exit %s = %s\n", name(nr), ret == child ? "the child's pid" : "other");
    else if (nr == SYS_openat)
        printf("exit openat = %s\n", ret >= 0 ? "a fd" : strerror(-ret));
    else if (nr == SYS_gettid)
        printf("exit gettid, run as faccessat = %s\n", ret == 0 ? "0" : strerror(-ret));
    else
        printf("exit %s = %ld\n", name(nr), ret);
    if (nr == SYS_execve)
        after_execve(r);
}

/* `tracer seize`: a tracer whose first ptrace call is PTRACE_SEIZE of a
 * running child (not PTRACE_TRACEME): interrupt it, read its registers,
 * kill it. */
static int seize(void) {
    int ready[2];
    if (pipe(ready) < 0)
        die("pipe");
    child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        die("read");
    long opts = PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SEIZE, child, 0, (void *)opts) < 0)
        die("SEIZE");
    printf("seized\n");
    if (ptrace(PTRACE_INTERRUPT, child, 0, 0) < 0)
        die("INTERRUPT");
    int st;
    if (waitpid(child, &st, 0) != child)
        die("waitpid");
    printf("interrupted: %s\n",
           WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_STOP ? "event stop" : "other");
    struct user_pt_regs r;
    getregs(&r);
    printf("registers read: sp %s\n", r.sp ? "set" : "zero");
    kill(child, SIGKILL);
    if (waitpid(child, &st, 0) != child)
        die("waitpid");
    printf("%s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}

/* Fork `child`, which asks to be traced (PTRACE_TRACEME) and stops
 * itself: true in the child, going on past that stop; false in the parent
 * once it has seen the stop. */
static int fork_traced(void) {
    child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
            die("TRACEME");
        raise(SIGSTOP);
        return 1;
    }
    int st;
    if (waitpid(child, &st, 0) != child)
        die("waitpid");
    printf("first stop: %s\n",
           WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other");
    return 0;
}

static void *thread_main(void *arg) {
    return arg;
}

/* What became of a task the tracer followed. */
struct followed {
    pid_t pid;
    const char *what;
    int first_stop, status;
};

/* `tracer fork`: a PTRACE_TRACEME child that forks (a child exiting 3),
 * then starts and joins a thread; followed with TRACEFORK and TRACECLONE.
 * The events are printed as the child makes them, the new tasks' first
 * stops and ends at the end (their order against each other is free). */
static int follow(void) {
    if (fork_traced()) {
        pid_t p = fork();
        if (p == 0)
            _exit(3);
        int st;
        waitpid(p, &st, 0);
        pthread_t t;
        if (pthread_create(&t, NULL, thread_main, NULL) != 0)
            _exit(1);
        pthread_join(t, NULL);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) + 10 : 1);
    }
    int st;
    long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SETOPTIONS, child, 0, (void *)opts) < 0)
        die("SETOPTIONS");
    struct followed new[2] = { { 0, "fork child", -1, -1 }, { 0, "thread", -1, -1 } };
    int n = 0, main_status = -1, live = 1;
    if (ptrace(PTRACE_CONT, child, 0, 0) < 0)
        die("PTRACE_CONT");
    while (live > 0) {
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0)
            die("waitpid");
        struct followed *f = NULL;
        for (int i = 0; i < n; i++)
            if (new[i].pid == w)
                f = &new[i];
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            live--;
            if (w == child)
                main_status = st;
            else if (f)
                f->status = st;
            continue;
        }
        int event = st >> 16, deliver = 0;
        if (w == child && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_CLONE)) {
            unsigned long msg = 0;
            ptrace(PTRACE_GETEVENTMSG, child, 0, &msg);
            printf("%s event\n", event == PTRACE_EVENT_FORK ? "fork" : "clone");
            if (n < 2 && msg) {
                new[n].pid = (pid_t)msg;
                int cst;
                if (waitpid(new[n].pid, &cst, __WALL) != new[n].pid)
                    die("waitpid for the new task");
                new[n].first_stop = WIFSTOPPED(cst) ? WSTOPSIG(cst) : -1;
                live++;
                if (ptrace(PTRACE_CONT, new[n].pid, 0, 0) < 0)
                    die("PTRACE_CONT of the new task");
                n++;
            }
        } else if (WSTOPSIG(st) != SIGTRAP) {
            deliver = WSTOPSIG(st);
            printf("%s stopped by signal %d\n", w == child ? "child" : "a new task", deliver);
        }
        if (ptrace(PTRACE_CONT, w, 0, (void *)(long)deliver) < 0)
            die("PTRACE_CONT");
    }
    /* The thread's exit code is not printed: the kernel reports the
     * group's exit code for a thread reaped after the group exited, 0 if
     * reaped before, and which comes first is a race. */
    for (int i = 0; i < 2; i++)
        printf("%s: %s, first stop %s, %s %d\n", new[i].what, new[i].pid ? "seen" : "not seen",
               new[i].first_stop == SIGSTOP ? "SIGSTOP" : "other",
               WIFEXITED(new[i].status) ? "exited" : "ended otherwise",
               i == 0 ? WEXITSTATUS(new[i].status) : 0);
    printf("child exited %d\n", WEXITSTATUS(main_status));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "seize") == 0)
        return seize();
    if (argc > 1 && strcmp(argv[1], "fork") == 0)
        return follow();
    if (fork_traced()) {
        long me = syscall(SYS_getpid);
        long pp = syscall(SYS_getppid);
        /* A file of the guest's only (the tracer makes this faccessat). */
        long acc = syscall(SYS_gettid, "/usr/local/bin/tracer");
        const char *found = acc == 0 ? "found" : strerror(errno);
        int fd = openat(AT_FDCWD, "/etc/debian_version", O_RDONLY);
        char msg[160];
        int n = snprintf(msg, sizeof msg,
                         "child: getppid %s, gettid as faccessat: %s, open %s\n",
                         pp == me ? "ran as getpid" : "ran as itself", found,
                         fd >= 0 ? "ok" : strerror(errno));
        write(1, msg, n);
        execl("/bin/true", "true", (char *)0);
        _exit(127);
    }
    int st;
    long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SETOPTIONS, child, 0, (void *)opts) < 0)
        die("SETOPTIONS");
    int in_syscall = 0, stops = 0;
    long nr = -1;
    if (ptrace(PTRACE_SYSCALL, child, 0, 0) < 0)
        die("PTRACE_SYSCALL");
    for (;;) {
        if (waitpid(child, &st, 0) != child)
            die("waitpid");
        if (WIFEXITED(st)) {
            printf("exited %d\n", WEXITSTATUS(st));
            break;
        }
        if (WIFSIGNALED(st)) {
            printf("killed by signal %d\n", WTERMSIG(st));
            break;
        }
        int sig = WSTOPSIG(st), deliver = 0;
        if (sig == (SIGTRAP | 0x80)) {
            struct user_pt_regs r;
            getregs(&r);
            stops++;
            if (!in_syscall) {
                nr = r.regs[8];
                entry(&r);
            } else {
                exit_(&r, nr);
            }
            in_syscall = !in_syscall;
        } else if (sig == SIGTRAP && st >> 16 == PTRACE_EVENT_EXEC) {
            unsigned long msg = 0;
            ptrace(PTRACE_GETEVENTMSG, child, 0, &msg);
            printf("exec event, former pid %s\n", (pid_t)msg == child ? "the child's" : "other");
        } else {
            printf("signal %d\n", sig);
            deliver = sig;
        }
        if (ptrace(PTRACE_SYSCALL, child, 0, (void *)(long)deliver) < 0)
            die("PTRACE_SYSCALL");
    }
    printf("syscall stops: %s\n", stops > 20 ? "many" : "few");
    return 0;
}
