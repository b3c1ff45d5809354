/*
 * statx(2) called directly, as coreutils does: what it reports of a few
 * files, next to what stat(2) reports. Android 8.0 and 10 trap statx; under
 * them sproot runs newfstatat and builds the statx from its result, so the
 * text must be what it is without the sandbox.
 * Build static: gcc -O1 -static -o statx statx.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(int dirfd, const char *path, int flags)
{
    struct statx sx;
    struct stat st;
    memset(&sx, 0xa5, sizeof sx);
    long r = syscall(SYS_statx, dirfd, path, flags, STATX_BASIC_STATS, &sx);
    if (r != 0) {
        printf("%s: %s\n", path, strerrorname_np(errno));
        return;
    }
    int sr = fstatat(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW);
    printf("%s: mask has basic %d, mode %o, nlink %u, uid %u, gid %u, size %llu, "
           "same ino %d, same mtime %d, same dev %d, same rdev %d, stat %d\n",
           path, (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, sx.stx_mode,
           sx.stx_nlink, sx.stx_uid, sx.stx_gid, (unsigned long long)sx.stx_size,
           sx.stx_ino == st.st_ino, sx.stx_mtime.tv_sec == st.st_mtime &&
               sx.stx_mtime.tv_nsec == (unsigned)st.st_mtim.tv_nsec,
           makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev,
           makedev(sx.stx_rdev_major, sx.stx_rdev_minor) == st.st_rdev, sr);
}

int main(void)
{
    show(AT_FDCWD, "/etc/passwd", 0);
    show(AT_FDCWD, "/bin", AT_SYMLINK_NOFOLLOW);
    show(AT_FDCWD, "/dev/null", 0);
    show(AT_FDCWD, "/no/such/file", 0);
    int d = open("/etc", O_RDONLY | O_DIRECTORY);
    show(d, "passwd", 0);
    show(d, "", AT_EMPTY_PATH);
    printf("bad flags: %s\n", syscall(SYS_statx, AT_FDCWD, "/", 0x8, 0, NULL) == 0 ? "ok" : strerrorname_np(errno));
    return 0;
}
