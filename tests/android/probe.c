/*
 * probe: make single syscalls under tests/android/sandbox.c and say what
 * happened, to check that a policy or a kernel mask does what its file says.
 *
 * It has no C library: glibc's start-up itself calls set_robust_list and
 * rseq, which the Android app policy traps, so a glibc program dies before
 * main. Build it static and freestanding:
 *
 *   gcc -O1 -static -nostdlib -ffreestanding -fno-stack-protector -fno-builtin \
 *       -o probe probe.c                     (or aarch64-linux-gnu-gcc)
 *
 *   probe [--catch] CALL...   make each CALL in turn; print `CALL NR RESULT`
 *                             (ok, -EINVAL, ...). Without --catch a trapped
 *                             call kills the probe with SIGSYS (status 159
 *                             from a shell), after the lines of the calls
 *                             before it; with --catch it prints `CALL NR
 *                             SIGSYS` and goes on.
 *   probe --scan MAX          for every number below MAX: `N allow` or
 *                             `N trap`, without running the call: a filter
 *                             of the probe's own (on top, so it sees the call
 *                             after every other filter let it through)
 *                             answers every call with a marker errno, and
 *                             SECCOMP_RET_TRAP from the policy outranks that.
 *                             write, exit_group and rt_sigreturn, which the
 *                             probe needs, are printed as `N skip`. On x86_64
 *                             two more lines: `x32 allow|trap` and
 *                             `i386 allow|trap`.
 *   probe --list              the CALL names.
 *
 * A CALL is a name from the table below (arguments chosen to be harmless) or
 * `nr:N` (syscall N with all arguments 0).
 */
#include <asm/unistd.h>

typedef unsigned long u64;
typedef unsigned int u32;

/* ------------------------------------------------------------------------ */

#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n"
        " and $-16,%rsp\n call start_c\n hlt\n"
        ".globl restore_rt\nrestore_rt:\n mov $15,%rax\n syscall\n hlt\n");
#define AUDIT_ARCH 0xc000003eu
static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
/* getpid of the i386 ABI (int $0x80, arch AUDIT_ARCH_I386). */
static long i386_getpid(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return ret;
}
#elif defined(__aarch64__)
__asm__(".text\n.globl _start\n_start:\n mov x29, #0\n mov x0, sp\n bl start_c\n brk #0\n"
        ".globl restore_rt\nrestore_rt:\n mov x8, #139\n svc #0\n brk #0\n");
#define AUDIT_ARCH 0xc00000b7u
static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#else
#error "probe: x86_64 and aarch64 only"
#endif

extern void restore_rt(void);

/* gcc may call these for struct copies and zeroing. */
void *memset(void *d, int c, unsigned long n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, unsigned long n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

static char out[8192];
static unsigned out_len;

static void flush(void)
{
    unsigned off = 0;
    while (off < out_len) {
        long r = sys6(__NR_write, 1, (long)(out + off), out_len - off, 0, 0, 0);
        if (r <= 0)
            break;
        off += (unsigned)r;
    }
    out_len = 0;
}
static void put(const char *s)
{
    while (*s) {
        if (out_len == sizeof out)
            flush();
        out[out_len++] = *s++;
    }
}
static void put_num(long v)
{
    char b[24];
    int i = sizeof b - 1;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    put(b + i);
}
static void put_hex(unsigned long v)
{
    char b[20];
    int i = sizeof b - 1;
    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    put("0x");
    put(b + i);
}

static const struct {
    int e;
    const char *name;
} errnames[] = {
    {1, "EPERM"},   {2, "ENOENT"},  {3, "ESRCH"},   {5, "EIO"},     {9, "EBADF"},
    {10, "ECHILD"}, {13, "EACCES"}, {14, "EFAULT"}, {20, "ENOTDIR"}, {22, "EINVAL"},
    {38, "ENOSYS"}, {95, "EOPNOTSUPP"},
};

static void put_result(long r)
{
    unsigned i;
    if (r >= 0 || r < -4095) {
        put("ok");
        return;
    }
    for (i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
        if (errnames[i].e == -r) {
            put("-");
            put(errnames[i].name);
            return;
        }
    put_num(r);
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}
static int starts(const char *s, const char *p)
{
    while (*p && *s == *p)
        s++, p++;
    return !*p;
}
static int parse_num(const char *s, long *v)
{
    long n = 0;
    int base = 10;
    if (s[0] == '0' && s[1] == 'x')
        base = 16, s += 2;
    if (!*s)
        return -1;
    for (; *s; s++) {
        int d = *s >= '0' && *s <= '9'   ? *s - '0'
                : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
                                         : 99;
        if (d >= base)
            return -1;
        n = n * base + d;
    }
    *v = n;
    return 0;
}

static void die(const char *msg)
{
    flush();
    put("probe: ");
    put(msg);
    put("\n");
    flush();
    sys6(__NR_exit_group, 2, 0, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------------ */
/* SIGSYS                                                                    */

static volatile int trapped, trap_code, trap_data, trap_nr;
static volatile unsigned trap_arch;

static void on_sigsys(int sig, void *info, void *ctx)
{
    const char *si = info;
    (void)sig;
    (void)ctx;
    trap_data = *(const int *)(si + 4);  /* si_errno: the filter's data */
    trap_code = *(const int *)(si + 8);  /* si_code: SYS_SECCOMP = 1 */
    trap_nr = *(const int *)(si + 24);   /* si_syscall */
    trap_arch = *(const u32 *)(si + 28); /* si_arch */
    trapped = 1;
}

struct ksigaction {
    void (*handler)(int, void *, void *);
    u64 flags;
    void (*restorer)(void);
    u64 mask;
};

static void catch_sigsys(void)
{
    struct ksigaction sa = {on_sigsys, 0x4 | 0x04000000 | 0x40000000, /* SIGINFO|RESTORER|NODEFER */
                            restore_rt, 0};
    if (sys6(__NR_rt_sigaction, 31, (long)&sa, 0, 8, 0, 0) != 0)
        die("rt_sigaction(SIGSYS) failed");
}

/* ------------------------------------------------------------------------ */
/* Named calls                                                               */

static long robust_head[3];
static char statbuf[256];
static u32 notif_sizes[3];

#define AT_FDCWD (-100L)
#define NONE 0x7fffffffL

static const struct call {
    const char *name;
    long nr;
    long a[6];
} calls[] = {
    {"getpid", __NR_getpid, {0}},
    {"set_robust_list", __NR_set_robust_list, {(long)robust_head, sizeof robust_head}},
    {"rseq", __NR_rseq, {0}},
#ifdef __NR_poll
    {"poll", __NR_poll, {0, 0, 0}},
#endif
#ifdef __NR_lstat
    {"lstat", __NR_lstat, {(long)"/", (long)statbuf}},
#endif
#ifdef __NR_access
    {"access", __NR_access, {(long)"/", 0}},
#endif
    {"newfstatat", __NR_newfstatat, {AT_FDCWD, (long)"/", (long)statbuf, 0}},
    {"clone3", __NR_clone3, {0, 0}},
    {"close_range", __NR_close_range, {100, 99, 0}},
    {"faccessat2", __NR_faccessat2, {AT_FDCWD, (long)"/", 0, 0}},
    {"openat2", __NR_openat2, {AT_FDCWD, (long)"/", 0, 0}},
    {"epoll_pwait2", __NR_epoll_pwait2, {-1, 0, 0, 0, 0, 0}},
    {"pidfd_open", __NR_pidfd_open, {NONE, 0}},
    {"io_pgetevents", __NR_io_pgetevents, {0, 0, 0, 0, 0, 0}},
    {"statx", __NR_statx, {AT_FDCWD, (long)"/", 0, 0, (long)statbuf}},
    {"setgroups", __NR_setgroups, {0, 0}},
    {"setresgid", __NR_setresgid, {-1, -1, -1}},
    {"setresuid", __NR_setresuid, {-1, -1, -1}},
    /* A length over the limit: EPERM unprivileged, EINVAL as root (never a change). */
    {"sethostname", __NR_sethostname, {0, 1000}},
    {"ptrace_seccomp_metadata", __NR_ptrace, {0x420d, 0, 0, 0}},
    {"ptrace_get_syscall_info", __NR_ptrace, {0x420e, 0, 0, 0}},
    {"ptrace_get_rseq_configuration", __NR_ptrace, {0x420f, 0, 0, 0}},
    {"ptrace_set_sud_config", __NR_ptrace, {0x4210, 0, 0, 0}},
    {"seccomp_get_notif_sizes", __NR_seccomp, {3, 0, (long)notif_sizes}},
    {"seccomp_flag_spec_allow", __NR_seccomp, {1, 0x4, 0}},
    {"seccomp_flag_new_listener", __NR_seccomp, {1, 0x8, 0}},
    {"seccomp_flag_tsync_esrch", __NR_seccomp, {1, 0x10, 0}},
    {"seccomp_flag_wait_killable_recv", __NR_seccomp, {1, 0x20, 0}},
    {"waitid_pidfd", __NR_waitid, {3, 1000, 0, 4, 0}},
#if defined(__x86_64__)
    {"x32_getpid", 0x40000000L | __NR_getpid, {0}},
    {"i386_getpid", -1, {0}},
#endif
};
#define NCALLS (sizeof calls / sizeof calls[0])

static long do_call(const struct call *c)
{
#if defined(__x86_64__)
    if (c->nr == -1)
        return i386_getpid();
#endif
    return sys6(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
}

static void named(int argc, char **argv, int catch_traps)
{
    int i;
    unsigned j;
    if (catch_traps)
        catch_sigsys();
    for (i = 0; i < argc; i++) {
        struct call nc = {argv[i], 0, {0}};
        const struct call *c = 0;
        long r;
        for (j = 0; j < NCALLS; j++)
            if (streq(argv[i], calls[j].name))
                c = &calls[j];
        if (!c) {
            if (!starts(argv[i], "nr:") || parse_num(argv[i] + 3, &nc.nr) != 0)
                die("unknown call (see probe --list)");
            c = &nc;
        }
        put(c->name);
        put(" ");
        if (c->nr == -1)
            put("i386:20");
        else
            put_num(c->nr);
        put(" ");
        flush(); /* what was tried is on stdout even if the call kills us */
        trapped = 0;
        r = do_call(c);
        if (trapped) {
            put("SIGSYS");
            if (trap_code != 1 || trap_data != 0) {
                put(" code=");
                put_num(trap_code);
                put(" data=");
                put_num(trap_data);
            }
        } else {
            put_result(r);
        }
        put("\n");
        flush();
    }
}

/* ------------------------------------------------------------------------ */
/* Scan                                                                      */

#define MARKER 4000 /* an errno no kernel returns */

struct sock_filter {
    unsigned short code;
    unsigned char jt, jf;
    u32 k;
};
struct sock_fprog {
    unsigned short len;
    struct sock_filter *filter;
};

/*
 * Calls the kernel runs past every seccomp filter, so no filter can trap or
 * answer them and the scan must not make them: x86_64's uretprobe (335),
 * which outside a uretprobe trampoline kills the caller with SIGILL, and
 * uprobe (336), likewise exempt (seen on this host's kernel: a policy that
 * traps 336 does not stop it).
 */
static int bypass(long nr)
{
#if defined(__x86_64__)
    return nr == 335 || nr == 336;
#else
    (void)nr;
    return 0;
#endif
}

static void scan(long max)
{
    /* Every call of the primary arch except the probe's own three gets
       ERRNO(MARKER); other arches are left to the filters below. */
    struct sock_filter f[] = {
        {0x20, 0, 0, 4},                           /* ld arch */
        {0x15, 1, 0, AUDIT_ARCH},                  /* jeq */
        {0x06, 0, 0, 0x7fff0000u},                 /* ret ALLOW */
        {0x20, 0, 0, 0},                           /* ld nr */
        {0x15, 3, 0, __NR_write},                  /* jeq -> allow */
        {0x15, 2, 0, __NR_exit_group},             /* jeq -> allow */
        {0x15, 1, 0, __NR_rt_sigreturn},           /* jeq -> allow */
        {0x06, 0, 0, 0x00050000u | MARKER},        /* ret ERRNO(MARKER) */
        {0x06, 0, 0, 0x7fff0000u},                 /* ret ALLOW */
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    long nr, r;

    catch_sigsys();
    if (sys6(__NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0) != 0)
        die("PR_SET_NO_NEW_PRIVS failed");
    if (sys6(__NR_prctl, 22 /* PR_SET_SECCOMP */, 2, (long)&prog, 0, 0, 0) != 0)
        die("installing the probe's filter failed");

    for (nr = 0; nr < max; nr++) {
        put_num(nr);
        if (nr == __NR_write || nr == __NR_exit_group || nr == __NR_rt_sigreturn || bypass(nr)) {
            put(" skip\n");
            continue;
        }
        trapped = 0;
        r = sys6(nr, 0, 0, 0, 0, 0, 0);
        if (trapped && trap_code == 1 && trap_data == 0 && trap_nr == nr &&
            trap_arch == AUDIT_ARCH) {
            put(" trap\n");
        } else if (!trapped && r == -MARKER) {
            put(" allow\n");
        } else {
            put(" odd result=");
            put_num(r);
            put(" trapped=");
            put_num(trapped);
            put(" code=");
            put_num(trap_code);
            put(" data=");
            put_num(trap_data);
            put(" nr=");
            put_num(trap_nr);
            put(" arch=");
            put_hex(trap_arch);
            put("\n");
        }
    }
#if defined(__x86_64__)
    trapped = 0;
    r = sys6(0x40000000L | __NR_getpid, 0, 0, 0, 0, 0, 0);
    put(trapped ? "x32 trap\n" : r == -MARKER ? "x32 allow\n" : "x32 odd\n");
    trapped = 0;
    r = i386_getpid();
    put(trapped ? "i386 trap\n" : "i386 allow\n");
#endif
    flush();
}

/* ------------------------------------------------------------------------ */

__attribute__((used)) void start_c(long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    long max;
    unsigned j;

    if (argc >= 2 && streq(argv[1], "--list")) {
        for (j = 0; j < NCALLS; j++) {
            put(calls[j].name);
            put("\n");
        }
    } else if (argc == 3 && streq(argv[1], "--scan")) {
        if (parse_num(argv[2], &max) != 0 || max <= 0 || max > 4096)
            die("--scan needs a number of syscalls (1..4096)");
        scan(max);
    } else if (argc >= 2 && streq(argv[1], "--catch")) {
        named(argc - 2, argv + 2, 1);
    } else if (argc >= 2 && argv[1][0] != '-') {
        named(argc - 1, argv + 1, 0);
    } else {
        die("usage: probe [--catch] CALL... | --scan MAX | --list");
    }
    flush();
    sys6(__NR_exit_group, 0, 0, 0, 0, 0, 0);
}
