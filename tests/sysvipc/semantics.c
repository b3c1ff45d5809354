/*
 * System V IPC as a program sees it: keys, permissions, semaphores (all or
 * nothing, waits, timeouts, signals, removal, undo), message queues (type
 * rules, limits, waits) and shared memory (attach counts, removal while
 * attached, read-only attaches, alignment). Prints one line per fact, no
 * ids, times or addresses, so the kernel's IPC and sproot's emulation
 * print the same text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static const char *err(long r)
{
    return r < 0 ? strerrorname_np(errno) : "ok";
}

static void nap(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static long ms_since(struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static int child_status(pid_t p)
{
    int st;
    if (waitpid(p, &st, 0) != p)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void on_usr1(int sig) { (void)sig; }

static void semaphores(key_t key)
{
    printf("semget absent key: %s\n", err(semget(key, 1, 0600)));
    int id = semget(key, 2, IPC_CREAT | 0600);
    printf("semget create: %s\n", err(id));
    printf("semget excl: %s\n", err(semget(key, 2, IPC_CREAT | IPC_EXCL | 0600)));
    printf("semget more sems: %s\n", err(semget(key, 3, 0)));
    printf("semget same key same set: %s\n", semget(key, 0, 0) == id ? "yes" : "no");
    unsigned short set[2] = {3, 4}, got[2] = {0, 0};
    union semun u = {.array = set};
    printf("SETALL: %s\n", err(semctl(id, 0, SETALL, u)));
    u.array = got;
    semctl(id, 0, GETALL, u);
    printf("GETALL: %d %d, GETVAL 1: %d\n", got[0], got[1], semctl(id, 1, GETVAL));
    struct semid_ds ds;
    u.buf = &ds;
    printf("IPC_STAT: %s\n", err(semctl(id, 0, IPC_STAT, u)));
    printf("nsems %lu mode %o mine %d\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777,
           ds.sem_perm.uid == geteuid());
    struct sembuf take5 = {0, -5, IPC_NOWAIT}, zero = {1, 0, IPC_NOWAIT};
    printf("take 5 of 3, nowait: %s\n", err(semop(id, &take5, 1)));
    printf("wait for zero, nowait: %s\n", err(semop(id, &zero, 1)));
    struct sembuf both[2] = {{0, -1, 0}, {1, -5, IPC_NOWAIT}};
    printf("all or nothing: %s\n", err(semop(id, both, 2)));
    printf("val 0 still %d\n", semctl(id, 0, GETVAL));
    struct sembuf bad = {2, 1, 0}, big = {0, 32767, 0};
    printf("sem_num out of range: %s\n", err(semop(id, &bad, 1)));
    printf("above SEMVMX: %s\n", err(semop(id, &big, 1)));
    printf("GETPID is mine: %d\n", semctl(id, 0, GETPID) == getpid());

    /* Timeout. */
    u.val = 0;
    semctl(id, 0, SETVAL, u);
    struct sembuf take1 = {0, -1, 0}, give1 = {0, 1, 0};
    struct timespec t0, to = {0, 60 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    printf("semtimedop timeout: %s\n", err(semtimedop(id, &take1, 1, &to)));
    printf("after >= 50 ms: %d\n", ms_since(&t0) >= 50);

    /* A wait ended by another process, which sees the waiter counted. */
    pid_t c = fork();
    if (c == 0) {
        int n = 0;
        for (int i = 0; i < 500 && (n = semctl(id, 0, GETNCNT)) == 0; i++)
            nap(2);
        semop(id, &give1, 1);
        _exit(n);
    }
    printf("woken by a post: %s\n", err(semop(id, &take1, 1)));
    printf("the poster saw GETNCNT %d\n", child_status(c));

    /* A child's exit (SIGCHLD, ignored) does not end a wait. */
    pid_t quick = fork();
    if (quick == 0)
        _exit(0);
    c = fork();
    if (c == 0) {
        nap(150);
        semop(id, &give1, 1);
        _exit(0);
    }
    printf("through SIGCHLD: %s\n", err(semop(id, &take1, 1)));
    child_status(quick);
    child_status(c);

    /* A signal with a handler ends it with EINTR, SA_RESTART or not. */
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        nap(80);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    printf("signal with a handler: %s\n", err(semop(id, &take1, 1)));
    child_status(c);
    printf("value after EINTR: %d\n", semctl(id, 0, GETVAL));

    /* Undo at exit. */
    u.val = 5;
    semctl(id, 0, SETVAL, u);
    c = fork();
    if (c == 0) {
        struct sembuf undo2 = {0, -2, SEM_UNDO}, plain1 = {0, -1, 0};
        semop(id, &undo2, 1);
        semop(id, &plain1, 1);
        _exit(semctl(id, 0, GETVAL));
    }
    printf("child saw %d\n", child_status(c));
    printf("after its exit %d\n", semctl(id, 0, GETVAL));

    /* Removal wakes a waiter with EIDRM. */
    u.val = 0;
    semctl(id, 0, SETVAL, u);
    c = fork();
    if (c == 0) {
        int r = semop(id, &take1, 1);
        _exit(r < 0 && errno == EIDRM ? 0 : 1);
    }
    for (int i = 0; i < 500 && semctl(id, 0, GETNCNT) == 0; i++)
        nap(2);
    printf("IPC_RMID: %s\n", err(semctl(id, 0, IPC_RMID)));
    printf("waiter got EIDRM: %s\n", child_status(c) == 0 ? "yes" : "no");
    printf("after removal: %s\n", err(semctl(id, 0, GETVAL)));

    /* Ping-pong: each side waits for the other's post, many times over
     * (a wake-up lost on the way to a wait would hang here). */
    int pp = semget(IPC_PRIVATE, 2, 0600);
    struct sembuf wait0 = {0, -1, 0}, post0 = {0, 1, 0}, wait1 = {1, -1, 0}, post1 = {1, 1, 0};
    int rounds = 0;
    c = fork();
    if (c == 0) {
        for (int i = 0; i < 500; i++)
            if (semop(pp, &wait0, 1) != 0 || semop(pp, &post1, 1) != 0)
                _exit(1);
        _exit(0);
    }
    for (; rounds < 500; rounds++)
        if (semop(pp, &post0, 1) != 0 || semop(pp, &wait1, 1) != 0)
            break;
    printf("ping-pong: %d rounds, child %d\n", rounds, child_status(c));
    semctl(pp, 0, IPC_RMID);
}

struct msg {
    long type;
    char text[64];
};

static void messages(key_t key)
{
    int q = msgget(key, IPC_CREAT | 0600);
    printf("msgget: %s\n", err(q));
    const char *texts[] = {"three", "one", "two", "uno"};
    long types[] = {3, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        struct msg m = {types[i], ""};
        strcpy(m.text, texts[i]);
        msgsnd(q, &m, strlen(texts[i]) + 1, 0);
    }
    struct msqid_ds ds;
    msgctl(q, IPC_STAT, &ds);
    printf("queued %lu messages, %lu bytes\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.msg_cbytes);
    struct msg m;
    long n = msgrcv(q, &m, sizeof m.text, 2, 0);
    printf("type 2: %ld %ld %s\n", n, m.type, m.text);
    n = msgrcv(q, &m, sizeof m.text, 1, MSG_EXCEPT);
    printf("not 1: %ld %s\n", n, m.text);
    n = msgrcv(q, &m, sizeof m.text, -5, 0);
    printf("lowest up to 5: %s\n", m.text);
    printf("too long: %s\n", err(msgrcv(q, &m, 2, 0, 0)));
    n = msgrcv(q, &m, 2, 0, MSG_NOERROR);
    printf("cut: %ld %.2s\n", n, m.text);
    printf("empty, nowait: %s\n", err(msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT)));
    struct msg zero = {0, "x"};
    printf("type 0: %s\n", err(msgsnd(q, &zero, 2, 0)));
    pid_t c = fork();
    if (c == 0) {
        nap(50);
        struct msg late = {7, "late"};
        msgsnd(q, &late, 5, 0);
        _exit(0);
    }
    n = msgrcv(q, &m, sizeof m.text, 7, 0);
    printf("waited for: %ld %s\n", n, m.text);
    child_status(c);
    static struct {
        long type;
        char text[8192];
    } big = {1, ""};
    int sent = 0;
    while (msgsnd(q, &big, sizeof big.text, IPC_NOWAIT) == 0)
        sent++;
    printf("full after %d: %s\n", sent, strerrorname_np(errno));
    c = fork();
    if (c == 0) {
        nap(50);
        msgrcv(q, &big, sizeof big.text, 0, 0);
        _exit(0);
    }
    printf("send waits for room: %s\n", err(msgsnd(q, &big, sizeof big.text, 0)));
    child_status(c);
    printf("IPC_RMID: %s\n", err(msgctl(q, IPC_RMID, NULL)));
    printf("then: %s\n", err(msgsnd(q, &zero, 2, IPC_NOWAIT)));
}

static void shared_memory(key_t key)
{
    int id = shmget(key, 10000, IPC_CREAT | 0640);
    printf("shmget: %s\n", err(id));
    printf("bigger: %s\n", err(shmget(key, 20000, 0)));
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("size %lu nattch %lu mode %o\n", (unsigned long)ds.shm_segsz,
           (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777);
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) {
        printf("shmat: %s\n", strerrorname_np(errno));
        return;
    }
    printf("shmat: ok, zeroed: %d\n", p[0] == 0 && p[9999] == 0);
    strcpy(p, "parent");
    pid_t c = fork();
    if (c == 0) {
        char *q = shmat(id, NULL, 0);
        struct shmid_ds d;
        shmctl(id, IPC_STAT, &d);
        char seen[16];
        strcpy(seen, q);
        sprintf(q + 100, "child read '%s' with nattch %lu", seen, (unsigned long)d.shm_nattch);
        _exit(0);
    }
    child_status(c);
    shmctl(id, IPC_STAT, &ds);
    printf("%s; after its exit nattch %lu\n", p + 100, (unsigned long)ds.shm_nattch);
    c = fork();
    if (c == 0) {
        char *r = shmat(id, NULL, SHM_RDONLY);
        if (r == (void *)-1)
            _exit(1);
        r[0] = 'x';
        _exit(0);
    }
    printf("write to a read-only attach: status %d\n", child_status(c));
    char *area = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 1 << 20);
    char *want = area + 65536;
    printf("unaligned: %s\n", err((long)shmat(id, want + 123, 0)));
    char *r = shmat(id, want + 123, SHM_RND);
    printf("SHM_RND: %s, same memory: %d\n", r == want ? "rounded" : "elsewhere",
           r != (void *)-1 && strcmp(r, "parent") == 0);
    shmdt(r);
    printf("IPC_RMID attached: %s\n", err(shmctl(id, IPC_RMID, NULL)));
    shmctl(id, IPC_STAT, &ds);
    printf("marked for destruction: %d, key private: %d\n", (ds.shm_perm.mode & 01000) != 0,
           ds.shm_perm.__key == IPC_PRIVATE);
    printf("key free: %s\n", err(shmget(key, 10, 0)));
    printf("shmdt: %s\n", err(shmdt(p)));
    printf("again: %s\n", err(shmdt(p)));
    printf("after the last detach: %s\n", err(shmctl(id, IPC_STAT, &ds)));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    key_t base = 0x53500000 + (getpid() % 4096) * 4;
    semaphores(base);
    messages(base + 1);
    shared_memory(base + 2);
    return 0;
}
