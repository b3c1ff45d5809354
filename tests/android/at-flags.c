/*
 * faccessat2 and fchmodat2 with their flags, called directly: Android 8.0
 * and 10 trap faccessat2 (and every release but the newest fchmodat2);
 * sproot then runs faccessat / fchmodat, doing AT_SYMLINK_NOFOLLOW itself.
 * The text must be what it is without the sandbox.
 * Build static: gcc -O1 -static -o at-flags at-flags.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static void report(const char *what, long r)
{
    printf("%s: %s\n", what, r == 0 ? "ok" : strerrorname_np(errno));
}

int main(void)
{
    char dir[] = "/tmp/at-flags-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char file[64], link[64], dangling[64], mode[64];
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(dangling, sizeof dangling, "%s/dangling", dir);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    symlink(file, link);
    symlink("/no/such/target", dangling);
    report("faccessat2 file R_OK AT_EACCESS",
           syscall(SYS_faccessat2, AT_FDCWD, file, R_OK, AT_EACCESS));
    report("faccessat2 file X_OK AT_EACCESS",
           syscall(SYS_faccessat2, AT_FDCWD, file, X_OK, AT_EACCESS));
    report("faccessat2 dangling F_OK",
           syscall(SYS_faccessat2, AT_FDCWD, dangling, F_OK, 0));
    report("faccessat2 dangling F_OK NOFOLLOW",
           syscall(SYS_faccessat2, AT_FDCWD, dangling, F_OK, AT_SYMLINK_NOFOLLOW));
    report("faccessat2 link X_OK NOFOLLOW",
           syscall(SYS_faccessat2, AT_FDCWD, link, X_OK, AT_SYMLINK_NOFOLLOW));
    report("faccessat2 file X_OK NOFOLLOW|EACCESS",
           syscall(SYS_faccessat2, AT_FDCWD, file, X_OK, AT_SYMLINK_NOFOLLOW | AT_EACCESS));
    report("faccessat2 missing NOFOLLOW",
           syscall(SYS_faccessat2, AT_FDCWD, "/no/such/file", F_OK, AT_SYMLINK_NOFOLLOW));
    report("fchmodat2 link NOFOLLOW",
           syscall(SYS_fchmodat2, AT_FDCWD, link, 0644, AT_SYMLINK_NOFOLLOW));
    report("fchmodat2 file NOFOLLOW",
           syscall(SYS_fchmodat2, AT_FDCWD, file, 0640, AT_SYMLINK_NOFOLLOW));
    struct stat st;
    stat(file, &st);
    snprintf(mode, sizeof mode, "%o", st.st_mode & 0777);
    printf("file mode: %s\n", mode);
    unlink(link);
    unlink(dangling);
    unlink(file);
    rmdir(dir);
    return 0;
}
