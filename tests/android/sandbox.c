/*
 * sandbox: start a command the way Android's zygote starts an app, so that
 * sproot can be tested on a Linux host under the seccomp policy every
 * Android app runs under, and under a "kernel mask" that makes the host's
 * kernel answer like an older Android kernel.
 *
 *   sandbox [--policy FILE] [--kernel VERSION [--masks FILE]]
 *           [--setid-range MIN:MAX] [--groups GID,...] [--no-new-privs]
 *           --uid UID --gid GID [--] COMMAND [ARG]...
 *
 * Run as root. In zygote's order (SpecializeCommon in the framework):
 *
 *   1. setgroups(--groups, empty by default)
 *   2. setresgid(GID, GID, GID)
 *   3. --kernel: install the kernel mask filter. Installed first, so it is the
 *      oldest filter: it stands for the kernel, under everything else. Its
 *      answers are SECCOMP_RET_ERRNO (ENOSYS, EIO, EINVAL as that kernel
 *      would give), so the app policy's SECCOMP_RET_TRAP still outranks it.
 *   4. --policy: install the app policy (tests/android/policy/<release>.<arch>.txt,
 *      made by gen-policy.py from bionic's lists): SECCOMP_RET_ALLOW for the
 *      listed numbers, SECCOMP_RET_TRAP for every other number, for x32 calls
 *      (x86_64) and for any other architecture.
 *   5. --setid-range: bionic's install_setuidgid_seccomp_filter(MIN, MAX):
 *      setresuid and setresgid with any of their three ids outside
 *      [MIN, MAX] (compared on the low 32 bits; -1 is outside) get
 *      SECCOMP_RET_TRAP, everything else is allowed. Zygote installs it only
 *      in app zygotes, not in ordinary apps; UID must be inside the range.
 *   6. setresuid(UID, UID, UID): the capabilities go.
 *   7. execvp(COMMAND).
 *
 * Zygote installs the filters while the process still has CAP_SYS_ADMIN and
 * does not set no_new_privs for apps; --no-new-privs sets it first anyway.
 *
 * Policy file: `name number` per line, `#` comments. Masks file
 * (policy/kernel-masks.<arch>.txt, resolved by gen-policy.py from
 * kernel-masks.txt): `KERNEL RULE VALUE [NAME]` per line, rules
 * enosys-from, enosys, ptrace-eio, seccomp-op-einval, seccomp-flags-einval,
 * waitid-einval. Without --masks it is looked for next to the policy file,
 * then next to this program, then in policy/ next to this program.
 *
 * Exit status: 2 for a usage error, 125 when setting up fails, 126/127 when
 * COMMAND cannot be run; otherwise COMMAND's.
 *
 * Build: gcc -O2 -Wall -o sandbox sandbox.c (no libseccomp); it also builds
 * with aarch64-linux-gnu-gcc -static.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH_AUDIT AUDIT_ARCH_X86_64
#define ARCH_NAME "x86_64"
#define X32_SYSCALL_BIT 0x40000000u
#elif defined(__aarch64__)
#define ARCH_AUDIT AUDIT_ARCH_AARCH64
#define ARCH_NAME "aarch64"
#else
#error "sandbox: x86_64 and aarch64 only"
#endif

#define EXIT_USAGE 2
#define EXIT_SETUP 125

static const char *prog_name = "sandbox";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void setup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "\nusage: %s [--policy FILE] [--kernel VERSION [--masks FILE]]\n"
            "       [--setid-range MIN:MAX] [--groups GID,...] [--no-new-privs]\n"
            "       --uid UID --gid GID [--] COMMAND [ARG]...\n",
            prog_name);
    exit(EXIT_USAGE);
}

static void setup_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_SETUP);
}

/* ------------------------------------------------------------------------ */
/* Lists of numbers                                                          */
/* ------------------------------------------------------------------------ */

struct numbers {
    uint32_t *v;
    size_t n, cap;
};

static void numbers_add(struct numbers *s, uint32_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            setup_error("out of memory");
    }
    s->v[s->n++] = x;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void numbers_sort_unique(struct numbers *s)
{
    size_t i, j = 0;
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    for (i = 1; i < s->n; i++)
        if (s->v[i] != s->v[j])
            s->v[++j] = s->v[i];
    s->n = j + 1;
}

/* ------------------------------------------------------------------------ */
/* BPF programs                                                              */
/* ------------------------------------------------------------------------ */

struct bpf {
    struct sock_filter insn[BPF_MAXINSNS];
    size_t len;
    const char *what;
};

static void emit(struct bpf *p, uint16_t code, uint32_t k, size_t jt, size_t jf)
{
    if (p->len >= BPF_MAXINSNS)
        setup_error("the %s filter needs more than %d instructions", p->what, BPF_MAXINSNS);
    if (jt > 255 || jf > 255)
        setup_error("internal error: a jump of %zu/%zu in the %s filter", jt, jf, p->what);
    p->insn[p->len++] = (struct sock_filter){code, (uint8_t)jt, (uint8_t)jf, k};
}

#define LOAD(p, off) emit(p, BPF_LD | BPF_W | BPF_ABS, (off), 0, 0)
#define RET(p, action) emit(p, BPF_RET | BPF_K, (action), 0, 0)
#define JEQ(p, k, jt, jf) emit(p, BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JGE(p, k, jt, jf) emit(p, BPF_JMP | BPF_JGE | BPF_K, (k), (jt), (jf))
#define JSET(p, k, jt, jf) emit(p, BPF_JMP | BPF_JSET | BPF_K, (k), (jt), (jf))
#define JA(p, k) emit(p, BPF_JMP | BPF_JA, (k), 0, 0)

#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
/* Low 32 bits of an argument (both arches are little-endian). */
#define OFF_ARG(n) (offsetof(struct seccomp_data, args) + 8 * (n))

/* [begin, end) of consecutive numbers. */
struct range {
    uint32_t begin, end;
};

/* Instructions tree() emits for n ranges. */
static size_t tree_size(size_t n)
{
    size_t half, left;
    if (n == 1)
        return 3;
    half = (n + 1) / 2;
    left = tree_size(half);
    return 1 + (left > 255) + left + tree_size(n - half);
}

/*
 * A binary search over sorted ranges. On entry nr (in the accumulator) is
 * at least r[0].begin and below the range after r[n-1]; a leaf only checks
 * the end of its range and returns. Each test jumps over at most the left
 * half; when that is more than a conditional jump can reach, an
 * unconditional jump (32-bit offset) does it.
 */
static void tree(struct bpf *p, const struct range *r, size_t n, uint32_t hit, uint32_t miss)
{
    size_t half, left;
    if (n == 1) {
        JGE(p, r[0].end, 0, 1);
        RET(p, miss);
        RET(p, hit);
        return;
    }
    half = (n + 1) / 2;
    left = tree_size(half);
    if (left > 255) {
        JGE(p, r[half].begin, 0, 1);
        JA(p, left);
    } else {
        JGE(p, r[half].begin, left, 0);
    }
    tree(p, r, half, hit, miss);
    tree(p, r + half, n - half, hit, miss);
}

/* nr (in the accumulator) in the sorted unique set s: return hit, else miss. */
static void lookup(struct bpf *p, const struct numbers *s, uint32_t hit, uint32_t miss)
{
    struct range *r;
    size_t i, n = 0;
    if (!s->n) {
        RET(p, miss);
        return;
    }
    r = calloc(s->n, sizeof *r);
    if (!r)
        setup_error("out of memory");
    for (i = 0; i < s->n; i++) {
        if (n && r[n - 1].end == s->v[i]) {
            r[n - 1].end++;
        } else {
            r[n].begin = s->v[i];
            r[n].end = s->v[i] + 1;
            n++;
        }
    }
    if (r[0].begin > 0) {
        JGE(p, r[0].begin, 1, 0);
        RET(p, miss);
    }
    tree(p, r, n, hit, miss);
    free(r);
}

static void install(const struct bpf *p)
{
    struct sock_fprog fp = {(unsigned short)p->len, (struct sock_filter *)p->insn};
    /* As bionic does: prctl, with CAP_SYS_ADMIN or no_new_privs. */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) != 0)
        setup_error("installing the %s filter (%zu instructions): %s", p->what, p->len,
                    strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* The app policy                                                            */
/* ------------------------------------------------------------------------ */

static char *trim(char *s)
{
    char *e;
    char *hash = strchr(s, '#');
    if (hash)
        *hash = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        *--e = 0;
    return s;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static void read_policy(const char *path, struct numbers *allowed)
{
    char line[512];
    unsigned lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        usage_error("--policy %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char name[128], num[64], arch[32], *s;
        uint32_t nr;
        lineno++;
        /* The generated header names the arch: refuse another arch's policy. */
        if (sscanf(line, "# Android %*s app seccomp policy, %31[^ ,]", arch) == 1 &&
            strcmp(arch, ARCH_NAME) != 0)
            usage_error("--policy %s is for %s; this is %s", path, arch, ARCH_NAME);
        s = trim(line);
        if (!*s)
            continue;
        if (sscanf(s, "%127s %63s", name, num) != 2 || parse_u32(num, &nr) != 0)
            usage_error("%s:%u: expected `name number`, got `%s`", path, lineno, s);
        numbers_add(allowed, nr);
    }
    fclose(f);
    if (!allowed->n)
        usage_error("--policy %s allows no syscall", path);
    numbers_sort_unique(allowed);
}

static void build_policy(struct bpf *p, const struct numbers *allowed)
{
    p->what = "app policy";
    LOAD(p, OFF_ARCH);
    JEQ(p, ARCH_AUDIT, 1, 0);
    RET(p, SECCOMP_RET_TRAP);
    LOAD(p, OFF_NR);
#ifdef X32_SYSCALL_BIT
    /* bionic's table ends far below the x32 numbers: they are trapped. */
    JGE(p, X32_SYSCALL_BIT, 0, 1);
    RET(p, SECCOMP_RET_TRAP);
#endif
    lookup(p, allowed, SECCOMP_RET_ALLOW, SECCOMP_RET_TRAP);
}

/* ------------------------------------------------------------------------ */
/* Kernel masks                                                              */
/* ------------------------------------------------------------------------ */

struct masks {
    int found;            /* the kernel has an enosys-from row */
    uint32_t enosys_from; /* every nr >= this: ENOSYS */
    struct numbers enosys, ptrace_eio, seccomp_ops, waitid_types;
    uint32_t seccomp_flags; /* seccomp(SET_MODE_FILTER) flags: EINVAL */
};

static void read_masks(const char *path, const char *kernel, struct masks *m)
{
    char line[512];
    unsigned lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        usage_error("--masks %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char k[32], rule[64], val[64];
        uint32_t v;
        char *s;
        lineno++;
        s = trim(line);
        if (!*s)
            continue;
        if (sscanf(s, "%31s %63s %63s", k, rule, val) != 3 || parse_u32(val, &v) != 0)
            usage_error("%s:%u: expected `KERNEL RULE VALUE [NAME]`, got `%s`", path, lineno, s);
        if (strcmp(k, kernel) != 0)
            continue;
        if (!strcmp(rule, "enosys-from")) {
            m->found = 1;
            m->enosys_from = v;
        } else if (!strcmp(rule, "enosys")) {
            numbers_add(&m->enosys, v);
        } else if (!strcmp(rule, "ptrace-eio")) {
            numbers_add(&m->ptrace_eio, v);
        } else if (!strcmp(rule, "seccomp-op-einval")) {
            numbers_add(&m->seccomp_ops, v);
        } else if (!strcmp(rule, "seccomp-flags-einval")) {
            m->seccomp_flags |= v;
        } else if (!strcmp(rule, "waitid-einval")) {
            numbers_add(&m->waitid_types, v);
        } else {
            usage_error("%s:%u: unknown rule `%s`", path, lineno, rule);
        }
    }
    fclose(f);
    if (!m->found)
        usage_error("--masks %s has no rules for kernel %s", path, kernel);
    numbers_sort_unique(&m->enosys);
}

/*
 * If nr is `call`: load argument `arg` and answer `err` when it is one of
 * `values`, else allow. Skipped (falls through) for any other nr.
 */
static void arg_block(struct bpf *p, uint32_t call, unsigned arg, const struct numbers *values,
                      uint32_t err)
{
    size_t i, n = values->n;
    if (!n)
        return;
    JEQ(p, call, 0, n + 3);
    LOAD(p, OFF_ARG(arg));
    for (i = 0; i < n; i++)
        JEQ(p, values->v[i], n - i, 0);
    RET(p, SECCOMP_RET_ALLOW);
    RET(p, SECCOMP_RET_ERRNO | err);
}

static void build_masks(struct bpf *p, const struct masks *m)
{
    size_t i, q = m->seccomp_ops.n, extra = m->seccomp_flags ? 3 : 0;
    p->what = "kernel mask";
    LOAD(p, OFF_ARCH);
    JEQ(p, ARCH_AUDIT, 1, 0);
    RET(p, SECCOMP_RET_ALLOW);
    LOAD(p, OFF_NR);
    JGE(p, m->enosys_from, 0, 1);
    RET(p, SECCOMP_RET_ERRNO | ENOSYS);
    arg_block(p, __NR_ptrace, 0, &m->ptrace_eio, EIO);
    arg_block(p, __NR_waitid, 0, &m->waitid_types, EINVAL);
    if (q || extra) {
        /* seccomp(op, flags, args) */
        JEQ(p, __NR_seccomp, 0, 1 + q + extra + 2);
        LOAD(p, OFF_ARG(0));
        for (i = 0; i < q; i++)
            JEQ(p, m->seccomp_ops.v[i], q - 1 - i + extra + 1, 0);
        if (extra) {
            JEQ(p, SECCOMP_SET_MODE_FILTER, 0, 2);
            LOAD(p, OFF_ARG(1));
            JSET(p, m->seccomp_flags, 1, 0);
        }
        RET(p, SECCOMP_RET_ALLOW);
        RET(p, SECCOMP_RET_ERRNO | EINVAL);
    }
    lookup(p, &m->enosys, SECCOMP_RET_ERRNO | ENOSYS, SECCOMP_RET_ALLOW);
}

/* ------------------------------------------------------------------------ */
/* bionic's set*id range filter                                             */
/* ------------------------------------------------------------------------ */

static void build_setid_range(struct bpf *p, uint32_t min, uint32_t max)
{
    static const uint32_t calls[] = {__NR_setresuid, __NR_setresgid};
    unsigned c, arg;
    p->what = "set*id range";
    LOAD(p, OFF_ARCH);
    JEQ(p, ARCH_AUDIT, 1, 0);
    RET(p, SECCOMP_RET_TRAP);
    for (c = 0; c < 2; c++) {
        LOAD(p, OFF_NR);
        JEQ(p, calls[c], 0, 12);
        for (arg = 0; arg < 3; arg++) {
            LOAD(p, OFF_ARG(arg));
            JGE(p, min, 0, 1);
            JGE(p, max + 1, 0, 1);
            RET(p, SECCOMP_RET_TRAP);
        }
    }
    RET(p, SECCOMP_RET_ALLOW);
}

/* ------------------------------------------------------------------------ */

static int readable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir of `path` + "/" + name, or NULL. */
static char *beside(const char *path, const char *name)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    char *out = malloc(dlen + strlen(name) + 2);
    if (!out)
        setup_error("out of memory");
    if (slash)
        memcpy(out, path, dlen);
    else
        out[0] = '.';
    out[dlen] = '/';
    strcpy(out + dlen + 1, name);
    return out;
}

static const char *default_masks(const char *policy)
{
    static char exe[PATH_MAX];
    const char *name = "kernel-masks." ARCH_NAME ".txt";
    const char *in_policy_dir = "policy/kernel-masks." ARCH_NAME ".txt";
    ssize_t n;
    char *c;
    if (policy && readable(c = beside(policy, name)))
        return c;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        if (readable(c = beside(exe, name)) || readable(c = beside(exe, in_policy_dir)))
            return c;
    }
    usage_error("--kernel needs --masks FILE (no %s next to the policy or this program)", name);
}

static uint32_t parse_id(const char *opt, const char *s)
{
    uint32_t v;
    if (parse_u32(s, &v) != 0 || v == UINT32_MAX)
        usage_error("%s: `%s` is not a user or group id", opt, s);
    return v;
}

int main(int argc, char **argv)
{
    const char *policy = NULL, *kernel = NULL, *masks_path = NULL, *groups_arg = NULL;
    int have_uid = 0, have_gid = 0, have_range = 0, nnp = 0, i;
    uint32_t uid = 0, gid = 0, range_min = 0, range_max = 0;
    gid_t *groups = NULL;
    size_t ngroups = 0;
    static struct bpf mask_bpf, policy_bpf, setid_bpf;
    struct numbers allowed = {0};
    struct masks masks = {0};

    if (argc > 0 && argv[0][0])
        prog_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const char *eq;
        char opt[32];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: %s [--policy FILE] [--kernel VERSION [--masks FILE]]\n"
                   "       [--setid-range MIN:MAX] [--groups GID,...] [--no-new-privs]\n"
                   "       --uid UID --gid GID [--] COMMAND [ARG]...\n"
                   "Start COMMAND as zygote starts an Android app (run as root; see the\n"
                   "comment at the top of tests/android/sandbox.c).\n",
                   prog_name);
            return 0;
        }
        if (!strcmp(a, "--no-new-privs")) {
            nnp = 1;
            continue;
        }
        eq = strchr(a, '=');
        if (eq && (size_t)(eq - a) < sizeof opt) {
            memcpy(opt, a, eq - a);
            opt[eq - a] = 0;
            val = eq + 1;
        } else if (!eq && strlen(a) < sizeof opt) {
            strcpy(opt, a);
        } else {
            usage_error("unknown option `%s`", a);
        }
        if (strcmp(opt, "--policy") && strcmp(opt, "--kernel") && strcmp(opt, "--masks") &&
            strcmp(opt, "--setid-range") && strcmp(opt, "--groups") && strcmp(opt, "--uid") &&
            strcmp(opt, "--gid"))
            usage_error("unknown option `%s`", a);
        if (!val) {
            if (i + 1 >= argc)
                usage_error("%s needs a value", opt);
            val = argv[++i];
        }
        if (!strcmp(opt, "--policy")) {
            policy = val;
        } else if (!strcmp(opt, "--kernel")) {
            kernel = val;
        } else if (!strcmp(opt, "--masks")) {
            masks_path = val;
        } else if (!strcmp(opt, "--groups")) {
            groups_arg = val;
        } else if (!strcmp(opt, "--uid")) {
            uid = parse_id(opt, val);
            have_uid = 1;
        } else if (!strcmp(opt, "--gid")) {
            gid = parse_id(opt, val);
            have_gid = 1;
        } else { /* --setid-range */
            char lo[32], hi[32];
            if (sscanf(val, "%31[0-9]:%31[0-9]", lo, hi) != 2)
                usage_error("--setid-range: `%s` is not MIN:MAX", val);
            range_min = parse_id(opt, lo);
            range_max = parse_id(opt, hi);
            if (range_min > range_max)
                usage_error("--setid-range: MIN %u is above MAX %u", range_min, range_max);
            have_range = 1;
        }
    }
    if (!have_uid || !have_gid)
        usage_error("--uid and --gid are required");
    if (i >= argc)
        usage_error("no command");
    if (masks_path && !kernel)
        usage_error("--masks without --kernel");
    if (have_range && (uid < range_min || uid > range_max))
        usage_error("--setid-range %u:%u does not contain --uid %u (its setresuid would trap)",
                    range_min, range_max, uid);
    if (groups_arg && *groups_arg) {
        char *copy = strdup(groups_arg), *tok, *save = NULL;
        groups = calloc(strlen(groups_arg) / 2 + 1, sizeof *groups);
        if (!copy || !groups)
            setup_error("out of memory");
        for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            groups[ngroups++] = parse_id("--groups", tok);
        free(copy);
    }
    if (geteuid() != 0)
        usage_error("must run as root: it changes groups and ids and installs filters before "
                    "dropping to --uid");

    /* Everything is read and built before the first change. */
    if (kernel) {
        if (!masks_path)
            masks_path = default_masks(policy);
        read_masks(masks_path, kernel, &masks);
        build_masks(&mask_bpf, &masks);
    }
    if (policy) {
        read_policy(policy, &allowed);
        build_policy(&policy_bpf, &allowed);
    }
    if (have_range)
        build_setid_range(&setid_bpf, range_min, range_max);

    if (setgroups(ngroups, groups) != 0)
        setup_error("setgroups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) != 0)
        setup_error("setresgid(%u): %s", gid, strerror(errno));
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        setup_error("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    if (kernel)
        install(&mask_bpf);
    if (policy)
        install(&policy_bpf);
    if (have_range)
        install(&setid_bpf);
    if (setresuid(uid, uid, uid) != 0)
        setup_error("setresuid(%u): %s", uid, strerror(errno));

    execvp(argv[i], argv + i);
    {
        int e = errno;
        fprintf(stderr, "%s: %s: %s\n", prog_name, argv[i], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
}
