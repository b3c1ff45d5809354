/*
 * SysV IPC shared by two guest processes: the child attaches the parent's
 * shared memory segment by id and writes into it, sends a message and
 * raises a semaphore; the parent waits on the semaphore and prints what it
 * got. Prints "shm: from the child; msg: hello; child: 0".
 * Build static: gcc -O1 -static -o sysv-ipc sysv-ipc.c
 */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

struct message {
    long type;
    char text[32];
};

int main(void)
{
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct sembuf down = {0, -1, 0};
    struct message got = {0, ""};
    char *mem;
    int status = -1;
    pid_t child;

    if (shm < 0 || sem < 0 || msq < 0) {
        perror("sysv-ipc: create");
        return 1;
    }
    mem = shmat(shm, NULL, 0);
    if (mem == (void *)-1) {
        perror("sysv-ipc: shmat");
        return 1;
    }
    child = fork();
    if (child == 0) {
        struct message m = {1, "hello"};
        struct sembuf up = {0, 1, 0};
        char *own = shmat(shm, NULL, 0); /* by id, not the inherited mapping */
        if (own == (void *)-1)
            _exit(2);
        strcpy(own, "from the child");
        if (msgsnd(msq, &m, sizeof m.text, 0) != 0 || semop(sem, &up, 1) != 0)
            _exit(3);
        _exit(0);
    }
    if (child < 0 || semop(sem, &down, 1) != 0 ||
        msgrcv(msq, &got, sizeof got.text, 1, 0) < 0) {
        perror("sysv-ipc: wait for the child");
        return 1;
    }
    waitpid(child, &status, 0);
    printf("shm: %s; msg: %s; child: %d\n", mem, got.text,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    shmdt(mem);
    shmctl(shm, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    msgctl(msq, IPC_RMID, NULL);
    return 0;
}
