/* ROUNDS rounds of 32 threads created at once, each stat()ing a guest path. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
static void *work(void *arg) {
    struct stat st;
    (void)arg;
    if (stat("/etc/debian_version", &st) != 0) { perror("stat"); exit(3); }
    return 0;
}
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    for (int r = 0; r < rounds; r++) {
        pthread_t t[32];
        for (int i = 0; i < 32; i++)
            if (pthread_create(&t[i], 0, work, 0) != 0) { perror("pthread_create"); return 2; }
        for (int i = 0; i < 32; i++) pthread_join(t[i], 0);
    }
    printf("threads %d\n", rounds * 32);
    return 0;
}
