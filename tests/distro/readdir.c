/* List a directory with readdir and check each entry against lstat, the way
 * find and fts trust d_type and d_ino: prints "name type same-inode", sorted
 * by the caller.  Exit status 1 if the directory cannot be read. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
    DIR *d = opendir(argc > 1 ? argv[1] : ".");
    if (!d) { perror("opendir"); return 1; }
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            printf("%s lstat-fails\n", e->d_name);
            continue;
        }
        const char *t = e->d_type == DT_REG ? "reg" : e->d_type == DT_DIR ? "dir"
                      : e->d_type == DT_LNK ? "lnk" : "other";
        int same_type = (e->d_type == DT_REG && S_ISREG(st.st_mode))
                     || (e->d_type == DT_DIR && S_ISDIR(st.st_mode))
                     || (e->d_type == DT_LNK && S_ISLNK(st.st_mode));
        /* (The link count of . and .. depends on what else is around.) */
        int dots = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        printf("%s %s %s %s nlink=%lu\n", e->d_name, t,
               same_type ? "type-matches" : "type-differs",
               e->d_ino == st.st_ino ? "ino-matches" : "ino-differs",
               dots ? 0UL : (unsigned long)st.st_nlink);
    }
    closedir(d);
    return 0;
}
