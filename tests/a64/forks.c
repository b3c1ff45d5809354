/* ROUNDS rounds of 16 children forked at once; every fourth execs /bin/true,
 * the others check a guest path with access() and exit. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1, ok = 0;
    for (int r = 0; r < rounds; r++) {
        pid_t p[16];
        for (int i = 0; i < 16; i++) {
            p[i] = fork();
            if (p[i] == 0) {
                if (i % 4 == 0) { execl("/bin/true", "true", (char *)0); _exit(9); }
                _exit(access("/etc/debian_version", R_OK) == 0 ? 0 : 4);
            }
        }
        for (int i = 0; i < 16; i++) {
            int st;
            if (waitpid(p[i], &st, 0) == p[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
        }
    }
    printf("forks %d\n", ok);
    return 0;
}
