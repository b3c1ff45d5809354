/* Table of the calls sproot's fake root (-0), link2symlink (-l) and -L
 * emulate or post-process, each with every class of bad argument.  Prints one
 * line per call: label, return value, errno name, and for a successful stat
 * the fields the extensions touch.  Run natively (chroot, as root) and under
 * sproot (fake root, unprivileged), the two outputs must be identical.
 *
 *   fakeroot_errors DIR     (DIR is created and filled; must not exist)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

#define BAD ((void *)1)

static const char *ename(int e)
{
    switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(EBADF) E(EFAULT) E(EEXIST) E(ENOTDIR) E(EISDIR)
        E(EINVAL) E(ENAMETOOLONG) E(ELOOP) E(ENODATA) E(ERANGE) E(EACCES)
        E(E2BIG) E(EOPNOTSUPP) E(EXDEV) E(ENOTEMPTY) E(ESRCH) E(ENOSYS)
#undef E
    case 0: return "0";
    default: { static char u[16]; snprintf(u, sizeof u, "E%d", e); return u; }
    }
}

static void report(const char *label, long r, int e)
{
    printf("%-44s %ld %s\n", label, r, r < 0 ? ename(e) : "-");
}

#define T(label, call) do { errno = 0; long r_ = (long)(call); report(label, r_, errno); } while (0)

static const char *kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFIFO: return "fifo";
    default: return "other";
    }
}

static void st(const char *label, long r, int e, struct stat *s)
{
    if (r == 0)
        printf("%-44s 0 - uid=%u gid=%u %s nlink=%lu size=%ld\n", label, s->st_uid, s->st_gid,
               kind(s->st_mode), (unsigned long)s->st_nlink,
               S_ISDIR(s->st_mode) || S_ISFIFO(s->st_mode) ? 0L : (long)s->st_size);
    else
        report(label, r, e);
}

#define S(label, call) do { struct stat s_; memset(&s_, 0, sizeof s_); errno = 0; \
        long r_ = (call); st(label, r_, errno, &s_); } while (0)
#define SB (&s_)

static void stx(const char *label, long r, int e, struct statx *s)
{
    if (r == 0)
        printf("%-44s 0 - uid=%u gid=%u %s nlink=%u size=%ld\n", label, s->stx_uid, s->stx_gid,
               kind(s->stx_mode), s->stx_nlink,
               S_ISDIR(s->stx_mode) || S_ISFIFO(s->stx_mode) ? 0L : (long)s->stx_size);
    else
        report(label, r, e);
}

#define X(label, dfd, path, flags, mask) do { struct statx s_; memset(&s_, 0, sizeof s_); \
        errno = 0; long r_ = syscall(SYS_statx, dfd, path, flags, mask, &s_); \
        stx(label, r_, errno, &s_); } while (0)

int main(int argc, char **argv)
{
    if (argc != 2 || mkdir(argv[1], 0755) != 0 || chdir(argv[1]) != 0) {
        perror("setup");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = open("f", O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "hello\n", 6) != 6 || close(fd) != 0) return 2;
    if (mkdir("d", 0755) || symlink("f", "sl") || symlink("nonexistent", "dl")
        || symlink("loop2", "loop1") || symlink("loop1", "loop2"))
        return 2;
    fd = open("lf", O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "linked\n", 7) != 7 || close(fd) != 0) return 2;
    if (link("lf", "lg") != 0) { perror("link"); return 2; }

    static char longname[300], longpath[5000];
    memset(longname, 'a', 299);
    for (size_t i = 0; i + 2 < sizeof longpath - 1; i += 2) memcpy(longpath + i, "d/", 2);

    int closed = 200; /* stays closed: every other fd is below it */
    close(closed);
    int big = 1000000;
    int opath = open("f", O_PATH);
    int opath_link = open("sl", O_PATH | O_NOFOLLOW);
    int dirfd = open("d", O_RDONLY | O_DIRECTORY);
    int filefd = open("f", O_RDONLY);
    int pfd[2];
    if (opath < 0 || opath_link < 0 || dirfd < 0 || filefd < 0 || pipe(pfd) != 0) return 2;

    struct { const char *name; const char *path; } paths[] = {
        {"f", "f"}, {"sl", "sl"}, {"dl", "dl"}, {"missing", "missing"},
        {"f/x", "f/x"}, {"f/", "f/"}, {"loop", "loop1"}, {"longname", longname},
        {"longpath", longpath}, {"empty", ""}, {"bad", BAD}, {"null", NULL},
        {"lg", "lg"}, {"d", "d"},
    };
    struct { const char *name; int fd; } fds[] = {
        {"closed", closed}, {"-1", -1}, {"big", big}, {"opath", opath},
        {"opath_link", opath_link}, {"dir", dirfd}, {"file", filefd}, {"pipe", pfd[0]},
        {"AT_FDCWD", AT_FDCWD},
    };
    char label[128], absf[4200];
    if (!getcwd(absf, sizeof absf - 3)) return 2;
    strcat(absf, "/f");
    const int np = sizeof paths / sizeof *paths, nf = sizeof fds / sizeof *fds;

    for (int i = 0; i < np; i++) {
        const char *p = paths[i].path;
        snprintf(label, sizeof label, "stat %s", paths[i].name);
        S(label, syscall(SYS_stat, p, SB));
        snprintf(label, sizeof label, "lstat %s", paths[i].name);
        S(label, syscall(SYS_lstat, p, SB));
        snprintf(label, sizeof label, "newfstatat cwd %s 0", paths[i].name);
        S(label, syscall(SYS_newfstatat, AT_FDCWD, p, SB, 0));
        snprintf(label, sizeof label, "newfstatat cwd %s NOFOLLOW", paths[i].name);
        S(label, syscall(SYS_newfstatat, AT_FDCWD, p, SB, AT_SYMLINK_NOFOLLOW));
        snprintf(label, sizeof label, "newfstatat cwd %s badflag", paths[i].name);
        S(label, syscall(SYS_newfstatat, AT_FDCWD, p, SB, 0x1));
        snprintf(label, sizeof label, "statx cwd %s 0", paths[i].name);
        X(label, AT_FDCWD, p, 0, STATX_BASIC_STATS);
        snprintf(label, sizeof label, "statx cwd %s NOFOLLOW", paths[i].name);
        X(label, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS);
        snprintf(label, sizeof label, "statx cwd %s reserved-mask", paths[i].name);
        X(label, AT_FDCWD, p, 0, 0x80000000u);
        snprintf(label, sizeof label, "statx cwd %s sync-both", paths[i].name);
        X(label, AT_FDCWD, p, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS);
        snprintf(label, sizeof label, "stat %s badbuf", paths[i].name);
        T(label, syscall(SYS_stat, p, BAD));
        snprintf(label, sizeof label, "chown %s", paths[i].name);
        T(label, syscall(SYS_chown, p, 0, 0));
        snprintf(label, sizeof label, "lchown %s", paths[i].name);
        T(label, syscall(SYS_lchown, p, 0, 0));
        snprintf(label, sizeof label, "fchownat cwd %s badflag", paths[i].name);
        T(label, syscall(SYS_fchownat, AT_FDCWD, p, 0, 0, 0x1));
        snprintf(label, sizeof label, "access %s", paths[i].name);
        T(label, syscall(SYS_access, p, R_OK));
        snprintf(label, sizeof label, "access %s badmode", paths[i].name);
        T(label, syscall(SYS_access, p, 0x10));
        snprintf(label, sizeof label, "faccessat2 cwd %s badflag", paths[i].name);
        T(label, syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, 0x1));
        snprintf(label, sizeof label, "chmod %s", paths[i].name);
        T(label, syscall(SYS_chmod, p, 0755));
        snprintf(label, sizeof label, "readlink %s", paths[i].name);
        { char b[64]; T(label, syscall(SYS_readlink, p, b, sizeof b)); }
        snprintf(label, sizeof label, "readlink %s badbuf", paths[i].name);
        T(label, syscall(SYS_readlink, p, BAD, 64));
        snprintf(label, sizeof label, "getxattr %s user.none", paths[i].name);
        { char b[64]; T(label, syscall(SYS_getxattr, p, "user.none", b, sizeof b)); }
        snprintf(label, sizeof label, "lgetxattr %s trusted.none", paths[i].name);
        { char b[64]; T(label, syscall(SYS_lgetxattr, p, "trusted.none", b, sizeof b)); }
        snprintf(label, sizeof label, "lsetxattr %s user.a badflags", paths[i].name);
        T(label, syscall(SYS_lsetxattr, p, "user.a", "v", 1, 0x10));
        snprintf(label, sizeof label, "lsetxattr %s trusted.t REPLACE", paths[i].name);
        T(label, syscall(SYS_lsetxattr, p, "trusted.t", "v", 1, XATTR_REPLACE));
        snprintf(label, sizeof label, "lremovexattr %s trusted.none", paths[i].name);
        T(label, syscall(SYS_lremovexattr, p, "trusted.none"));
    }

    for (int i = 0; i < nf; i++) {
        int d = fds[i].fd;
        snprintf(label, sizeof label, "fstat %s", fds[i].name);
        S(label, syscall(SYS_fstat, d, SB));
        snprintf(label, sizeof label, "fstat %s badbuf", fds[i].name);
        T(label, syscall(SYS_fstat, d, BAD));
        snprintf(label, sizeof label, "newfstatat %s \"\" EMPTY", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, "", SB, AT_EMPTY_PATH));
        snprintf(label, sizeof label, "newfstatat %s NULL EMPTY", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, NULL, SB, AT_EMPTY_PATH));
        snprintf(label, sizeof label, "newfstatat %s \"\" EMPTY|NOFOLLOW", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, "", SB, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
        snprintf(label, sizeof label, "newfstatat %s \"\" 0", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, "", SB, 0));
        snprintf(label, sizeof label, "newfstatat %s \"\" EMPTY|badflag", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, "", SB, AT_EMPTY_PATH | 0x1));
        snprintf(label, sizeof label, "newfstatat %s rel", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, "x", SB, 0));
        snprintf(label, sizeof label, "newfstatat %s abs", fds[i].name);
        S(label, syscall(SYS_newfstatat, d, absf, SB, 0));
        snprintf(label, sizeof label, "statx %s \"\" EMPTY", fds[i].name);
        X(label, d, "", AT_EMPTY_PATH, STATX_BASIC_STATS);
        snprintf(label, sizeof label, "statx %s NULL EMPTY", fds[i].name);
        X(label, d, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS);
        snprintf(label, sizeof label, "statx %s rel", fds[i].name);
        X(label, d, "x", 0, STATX_BASIC_STATS);
        snprintf(label, sizeof label, "fchown %s", fds[i].name);
        T(label, syscall(SYS_fchown, d, 0, 0));
        snprintf(label, sizeof label, "fchownat %s \"\" EMPTY", fds[i].name);
        T(label, syscall(SYS_fchownat, d, "", 0, 0, AT_EMPTY_PATH));
        snprintf(label, sizeof label, "fchownat %s rel", fds[i].name);
        T(label, syscall(SYS_fchownat, d, "x", 0, 0, 0));
        snprintf(label, sizeof label, "fchmod %s", fds[i].name);
        T(label, syscall(SYS_fchmod, d, 0755));
        snprintf(label, sizeof label, "faccessat %s rel", fds[i].name);
        T(label, syscall(SYS_faccessat, d, "x", R_OK));
        snprintf(label, sizeof label, "faccessat2 %s \"\" EMPTY", fds[i].name);
        T(label, syscall(SYS_faccessat2, d, "", R_OK, AT_EMPTY_PATH));
        snprintf(label, sizeof label, "fsetxattr %s trusted.t", fds[i].name);
        T(label, syscall(SYS_fsetxattr, d, "trusted.t", "fd", 2, 0));
        snprintf(label, sizeof label, "fgetxattr %s trusted.t", fds[i].name);
        { char b[64]; T(label, syscall(SYS_fgetxattr, d, "trusted.t", b, sizeof b)); }
        snprintf(label, sizeof label, "fgetxattr %s user.none", fds[i].name);
        { char b[64]; T(label, syscall(SYS_fgetxattr, d, "user.none", b, sizeof b)); }
        snprintf(label, sizeof label, "getdents64 %s", fds[i].name);
        { char b[4096]; long r = syscall(SYS_getdents64, d, b, sizeof b); report(label, r > 0 ? 1 : r, errno); }
        snprintf(label, sizeof label, "linkat %s rel", fds[i].name);
        T(label, syscall(SYS_linkat, d, "x", AT_FDCWD, "newlink", 0));
        snprintf(label, sizeof label, "unlinkat %s rel", fds[i].name);
        T(label, syscall(SYS_unlinkat, d, "x", 0));
        snprintf(label, sizeof label, "renameat %s rel", fds[i].name);
        T(label, syscall(SYS_renameat, d, "x", AT_FDCWD, "newname"));
    }

    /* Extended attributes round-trip as root's do. */
    const char *xnames[] = {"user.a", "trusted.a", "security.a"};
    const char *xpaths[] = {"f", "sl", "d", "lg"};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            char b[64];
            const char *p = xpaths[i], *n = xnames[j];
            snprintf(label, sizeof label, "lsetxattr %s %s", p, n);
            T(label, lsetxattr(p, n, "value", 5, 0));
            snprintf(label, sizeof label, "lsetxattr %s %s CREATE", p, n);
            T(label, lsetxattr(p, n, "value", 5, XATTR_CREATE));
            snprintf(label, sizeof label, "lgetxattr %s %s size0", p, n);
            T(label, lgetxattr(p, n, NULL, 0));
            snprintf(label, sizeof label, "lgetxattr %s %s small", p, n);
            T(label, lgetxattr(p, n, b, 2));
            snprintf(label, sizeof label, "lgetxattr %s %s", p, n);
            memset(b, 0, sizeof b);
            errno = 0;
            long r = lgetxattr(p, n, b, sizeof b);
            printf("%-44s %ld %s %s\n", label, r, r < 0 ? ename(errno) : "-", r > 0 ? b : "");
            snprintf(label, sizeof label, "getxattr %s %s", p, n);
            T(label, getxattr(p, n, b, sizeof b));
            snprintf(label, sizeof label, "lgetxattr %s %s badbuf", p, n);
            T(label, syscall(SYS_lgetxattr, p, n, BAD, sizeof b));
            snprintf(label, sizeof label, "lsetxattr %s %s badvalue", p, n);
            T(label, syscall(SYS_lsetxattr, p, n, BAD, 5, 0));
        }
    for (int i = 0; i < 4; i++) {
        char b[512], *q;
        errno = 0;
        long r = llistxattr(xpaths[i], b, sizeof b);
        printf("llistxattr %s %ld %s:", xpaths[i], r, r < 0 ? ename(errno) : "-");
        /* Names in sorted order (file systems list them in their own). */
        const char *sorted[32];
        int n = 0;
        for (q = b; r > 0 && q < b + r && n < 32; q += strlen(q) + 1)
            if (strncmp(q, "security.selinux", 16) != 0) sorted[n++] = q;
        for (int a = 0; a < n; a++)
            for (int c = a + 1; c < n; c++)
                if (strcmp(sorted[c], sorted[a]) < 0) { const char *t = sorted[a]; sorted[a] = sorted[c]; sorted[c] = t; }
        for (int a = 0; a < n; a++) printf(" %s", sorted[a]);
        printf("\n");
        snprintf(label, sizeof label, "llistxattr %s small", xpaths[i]);
        T(label, llistxattr(xpaths[i], b, 3));
        snprintf(label, sizeof label, "lremovexattr %s trusted.a", xpaths[i]);
        T(label, lremovexattr(xpaths[i], "trusted.a"));
        snprintf(label, sizeof label, "lgetxattr %s trusted.a after remove", xpaths[i]);
        T(label, lgetxattr(xpaths[i], "trusted.a", b, sizeof b));
    }
    {
        int wfd = open("f", O_RDWR);
        T("fsetxattr f trusted.fd", fsetxattr(wfd, "trusted.fd", "x", 1, 0));
        T("fgetxattr f trusted.fd", fgetxattr(wfd, "trusted.fd", NULL, 0));
        T("getxattr f trusted.fd", getxattr("f", "trusted.fd", NULL, 0));
        T("fremovexattr f trusted.fd", fremovexattr(wfd, "trusted.fd"));
        T("fremovexattr opath trusted.fd", fremovexattr(opath, "trusted.fd"));
        T("flistxattr opath", flistxattr(opath, NULL, 0));
        close(wfd);
    }

    /* link, unlink, rename: emulated under -l. */
    {
        int lf = open("m", O_CREAT | O_WRONLY, 0644);
        close(lf);
        const struct { const char *label, *old, *new; } links[] = {
            {"link m m2", "m", "m2"},
            {"link m m3", "m", "m3"},
            {"link missing x", "missing", "x"},
            {"link m f (exists)", "m", "f"},
            {"link m m2 (exists)", "m", "m2"},
            {"link d x", "d", "x"},
            {"link m f/x", "m", "f/x"},
            {"link m missing/x", "m", "missing/x"},
            {"link f/x y", "f/x", "y"},
            {"link loop1/x y", "loop1/x", "y"},
            {"link m longname", "m", longname},
            {"link m longpath", "m", longpath},
            {"link bad y", BAD, "y"},
            {"link m bad", "m", BAD},
            {"link empty y", "", "y"},
            {"link m2 dl", "m2", "dl"},
            {"link m2 d/", "m2", "d/"},
            {"link m2/ y", "m2/", "y"},
        };
        for (size_t k = 0; k < sizeof links / sizeof *links; k++)
            T(links[k].label, syscall(SYS_link, links[k].old, links[k].new));
        T("linkat badflag", syscall(SYS_linkat, AT_FDCWD, "m", AT_FDCWD, "y", 0x1));
        T("linkat closed rel", syscall(SYS_linkat, closed, "m", AT_FDCWD, "y", 0));
        T("linkat dir rel new", syscall(SYS_linkat, AT_FDCWD, "m", dirfd, "y", 0));
        T("linkat sl FOLLOW", syscall(SYS_linkat, AT_FDCWD, "sl", AT_FDCWD, "sl2", AT_SYMLINK_FOLLOW));
        S("stat sl2", syscall(SYS_lstat, "sl2", SB));
        T("linkat sl nofollow", syscall(SYS_linkat, AT_FDCWD, "sl", AT_FDCWD, "sl3", 0));
        /* (Under -l a hard link to a symlink is a copy of it: its link
         * count stays 1, a documented difference.) */
        S("lstat m", syscall(SYS_lstat, "m", SB));
        S("stat d/y", syscall(SYS_stat, "d/y", SB));
        T("rename m2 m4", syscall(SYS_rename, "m2", "m4"));
        T("rename m4 m3 (same file)", syscall(SYS_rename, "m4", "m3"));
        S("lstat m3", syscall(SYS_lstat, "m3", SB));
        const struct { const char *label, *old, *new; } renames[] = {
            {"rename m4 d", "m4", "d"},
            {"rename d m4", "d", "m4"},
            {"rename m4 missing/x", "m4", "missing/x"},
            {"rename missing m4", "missing", "m4"},
            {"rename m4 f/x", "m4", "f/x"},
            {"rename m4/ y", "m4/", "y"},
            {"rename m4 longname", "m4", longname},
            {"rename bad m4", BAD, "m4"},
        };
        for (size_t k = 0; k < sizeof renames / sizeof *renames; k++)
            T(renames[k].label, syscall(SYS_rename, renames[k].old, renames[k].new));
        T("renameat2 m4 f NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, "m4", AT_FDCWD, "f", RENAME_NOREPLACE));
        T("renameat2 m4 f badflag", syscall(SYS_renameat2, AT_FDCWD, "m4", AT_FDCWD, "f", 0x100));
        T("renameat2 m4 f NOREPLACE|EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "m4", AT_FDCWD, "f", RENAME_NOREPLACE | RENAME_EXCHANGE));
        T("renameat2 m4 missing EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "m4", AT_FDCWD, "missing", RENAME_EXCHANGE));
        T("renameat2 closed m4", syscall(SYS_renameat2, closed, "m4", AT_FDCWD, "y", 0));
        T("rename f m3 (over a link)", syscall(SYS_rename, "f", "m3"));
        S("stat m", syscall(SYS_stat, "m", SB));
        S("stat m3", syscall(SYS_stat, "m3", SB));
        T("unlink m4/", syscall(SYS_unlink, "m4/"));
        T("unlink d", syscall(SYS_unlink, "d"));
        T("unlink missing", syscall(SYS_unlink, "missing"));
        T("unlink bad", syscall(SYS_unlink, BAD));
        T("unlink longname", syscall(SYS_unlink, longname));
        T("unlinkat m4 badflag", syscall(SYS_unlinkat, AT_FDCWD, "m4", 0x1));
        T("unlinkat m4 REMOVEDIR", syscall(SYS_unlinkat, AT_FDCWD, "m4", AT_REMOVEDIR));
        T("unlink m4", syscall(SYS_unlink, "m4"));
        S("stat m", syscall(SYS_stat, "m", SB));
        T("unlink m4 again", syscall(SYS_unlink, "m4"));
        T("readlink m", syscall(SYS_readlink, "m", label, sizeof label));
        T("readlink m bufsize 0", syscall(SYS_readlink, "m", label, 0));
        {
            int mfd = open("m", O_RDONLY);
            T("linkat fd EMPTY", syscall(SYS_linkat, mfd, "", AT_FDCWD, "mfd", AT_EMPTY_PATH));
            S("stat mfd", syscall(SYS_stat, "mfd", SB));
            T("linkat closed EMPTY", syscall(SYS_linkat, closed, "", AT_FDCWD, "mfd2", AT_EMPTY_PATH));
            close(mfd);
            int tfd = open(".", O_TMPFILE | O_WRONLY, 0600);
            T("linkat O_TMPFILE EMPTY", syscall(SYS_linkat, tfd, "", AT_FDCWD, "tmpf", AT_EMPTY_PATH));
            S("stat tmpf", syscall(SYS_stat, "tmpf", SB));
            close(tfd);
            tfd = open(".", O_TMPFILE | O_WRONLY, 0600);
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", tfd);
            T("linkat /proc/self/fd O_TMPFILE FOLLOW", syscall(SYS_linkat, AT_FDCWD, proc, AT_FDCWD, "tmpf2", AT_SYMLINK_FOLLOW));
            S("stat tmpf2", syscall(SYS_stat, "tmpf2", SB));
            close(tfd);
            T("unlink mfd", syscall(SYS_unlink, "mfd"));
        }
        T("unlink m", syscall(SYS_unlink, "m"));
        T("unlink m3", syscall(SYS_unlink, "m3"));
        T("access m3", syscall(SYS_access, "m3", F_OK));
    }

    /* Identity calls with bad pointers. */
    T("uname bad", syscall(SYS_uname, BAD));
    T("getresuid bad", syscall(SYS_getresuid, BAD, BAD, BAD));
    T("getgroups -1", syscall(SYS_getgroups, -1, NULL));
    T("getgroups 1 bad", syscall(SYS_getgroups, 1, BAD) >= 0 ? 0 : -1);
    T("setgroups bad", syscall(SYS_setgroups, 1, BAD));
    T("setgroups -1", syscall(SYS_setgroups, -1, NULL));
    return 0;
}
