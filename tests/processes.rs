//! Processes, threads, signals and exit status under sproot, end to end.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Timeout for one guest run, in seconds.
const T: u64 = 30;

/// Runs `/bin/sh -c SCRIPT` in the guest with the host's /dev bound: dash
/// opens /dev/null for every background job's stdin, and the tiny rootfs has
/// an empty /dev.
fn sh(rootfs: &TinyRootfs, script: &str) -> Output {
    rootfs.run_timeout(&["-b", "/dev", "/bin/sh", "-c", script], T)
}

#[track_caller]
fn ok_stdout(out: &Output, what: &str) -> String {
    assert_success(out, what);
    stdout_str(out)
}

// ---------------------------------------------------------------------------
// Exit status
// ---------------------------------------------------------------------------

#[test]
fn exit_status_of_the_guest_passes_through() {
    let r = tiny_rootfs();
    let out = sh(&r, "test -e /etc/sproot-guest && exit 42");
    assert_eq!(out.status.code(), Some(42), "{}", describe(&out));
}

#[test]
fn guest_killed_by_sigterm_exits_143() {
    let r = tiny_rootfs();
    let out = sh(&r, "kill -TERM $$; sleep 5");
    assert_eq!(out.status.code(), Some(143), "{}", describe(&out));
}

#[test]
fn guest_killed_by_sigkill_exits_137() {
    let r = tiny_rootfs();
    let out = sh(&r, "kill -KILL $$; sleep 5");
    assert_eq!(out.status.code(), Some(137), "{}", describe(&out));
}

#[test]
fn exit_status_is_the_first_process_not_the_last() {
    let r = tiny_rootfs();
    // The first process exits 5 while a child that exits 9 is still running.
    let out = sh(&r, "(sleep 0.3; exit 9) & exit 5");
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
}

// ---------------------------------------------------------------------------
// Forks, pipelines, threads
// ---------------------------------------------------------------------------

#[test]
fn pipeline_of_guest_programs_works() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "cat /etc/sproot-guest | cat | wc -c; echo abc | cat | wc -c",
    );
    assert_eq!(ok_stdout(&out, "pipeline"), "6\n4\n");
}

#[test]
fn subshells_and_command_substitution_see_the_guest() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "x=$(cat /etc/sproot-guest); (cd /etc && echo \"$x $(/bin/pwd)\"); ( ( cat /etc/sproot-guest ) )",
    );
    assert_eq!(
        ok_stdout(&out, "subshells"),
        format!("guest /etc\n{GUEST_MARKER}")
    );
}

#[test]
fn many_background_children_are_all_traced() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "for i in 1 2 3 4 5 6 7 8 9 10; do (cat /etc/sproot-guest > /tmp/out.$i) & done; wait; cat /tmp/out.* | wc -l",
    );
    assert_eq!(ok_stdout(&out, "background children"), "10\n");
}

const THREADS_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#define THREADS 16
#define ROUNDS 20

static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 10; i++) {
        struct stat st;
        /* Exists only in the guest, 6 bytes: proves translation in every thread. */
        if (stat("/etc/sproot-guest", &st) != 0 || st.st_size != 6) {
            pthread_mutex_lock(&lock);
            failures++;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

int main(void) {
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            if (pthread_create(&t[i], NULL, worker, NULL) != 0) { perror("pthread_create"); return 2; }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    printf("rounds=%d failures=%d\n", ROUNDS, failures);
    return failures != 0;
}
"#;

#[test]
fn threads_each_stat_guest_files_over_many_rounds() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(THREADS_C, &["-pthread"]) else {
        return;
    };
    r.install(&bin, "/usr/bin/threads");
    let out = r.run_timeout(&["-b", "/dev", "/usr/bin/threads"], 60);
    assert_eq!(ok_stdout(&out, "threads"), "rounds=20 failures=0\n");
}

const FORK_IN_THREADS_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 5

static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(void) {
    pthread_mutex_lock(&lock);
    failures++;
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg) {
    long n = (long)arg;
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid < 0) { fail(); continue; }
        if (pid == 0) {
            if (n % 2) {
                /* Odd threads' children exec a guest program. */
                execl("/bin/cat", "cat", "/etc/sproot-guest", (char *)NULL);
                _exit(99);
            }
            struct stat st;
            _exit(stat("/etc/sproot-guest", &st) == 0 && st.st_size == 6 ? 0 : 1);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail();
    }
    return NULL;
}

int main(void) {
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[THREADS];
        for (long i = 0; i < THREADS; i++)
            if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) { perror("pthread_create"); return 2; }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    fprintf(stderr, "failures=%d\n", failures);
    return failures != 0;
}
"#;

#[test]
fn fork_and_exec_inside_threads_work() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(FORK_IN_THREADS_C, &["-pthread"]) else {
        return;
    };
    r.install(&bin, "/usr/bin/fork-threads");
    let out = r.run_timeout(&["-b", "/dev", "/usr/bin/fork-threads"], 60);
    assert_success(&out, "fork inside threads");
    // 4 odd threads x 3 forks x 5 rounds each cat the 6-byte marker.
    assert_eq!(
        stdout_str(&out),
        GUEST_MARKER.repeat(4 * 3 * 5),
        "{}",
        describe(&out)
    );
    assert!(
        stderr_str(&out).contains("failures=0"),
        "{}",
        describe(&out)
    );
}

// ---------------------------------------------------------------------------
// Waiting for, and killing, the rest
// ---------------------------------------------------------------------------

#[test]
fn without_kill_on_exit_sproot_waits_for_background_guests() {
    let r = tiny_rootfs();
    let start = Instant::now();
    let out = sh(&r, "sleep 2 >/dev/null 2>&1 & exit 0");
    let took = start.elapsed();
    assert_success(&out, "background sleep");
    assert!(
        took >= Duration::from_millis(1800),
        "sproot returned after {took:?}, before its background guest finished"
    );
}

#[test]
fn with_kill_on_exit_sproot_returns_when_the_first_process_exits() {
    let r = tiny_rootfs();
    let start = Instant::now();
    let out = r.run_timeout(
        &[
            "--kill-on-exit",
            "-b",
            "/dev",
            "/bin/sh",
            "-c",
            "sleep 5 >/dev/null 2>&1 & exit 4",
        ],
        T,
    );
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        took < Duration::from_millis(3000),
        "sproot --kill-on-exit took {took:?}: it waited for the background guest"
    );
}

/// `sproot -b /dev ARGS` started in its own process group with stdio to /dev/null and
/// an environment tag that lets [`tagged_pids`] find its guests later.
fn spawn_tagged(r: &TinyRootfs, args: &[&str], tag: &str) -> Child {
    use std::os::unix::process::CommandExt;
    let mut all = vec!["-b", "/dev"];
    all.extend_from_slice(args);
    let mut cmd = r.sproot_cmd(&all);
    cmd.env("SPROOT_TEST_TAG", tag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    cmd.spawn().expect("spawn sproot")
}

/// Pids of live processes whose environment holds `SPROOT_TEST_TAG=<tag>`.
fn tagged_pids(tag: &str) -> Vec<i32> {
    let needle = format!("SPROOT_TEST_TAG={tag}");
    let mut pids = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return pids;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // Zombies have an empty environ; they are dead already.
        let Ok(env) = fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
            let state = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = state
                .rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
                .unwrap_or(false);
            if !zombie {
                pids.push(pid);
            }
        }
    }
    pids
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) with plain integers.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits until `path` exists; panics (after killing `child`'s group) on timeout.
fn wait_for_file(path: &Path, child: &mut Child, secs: u64) {
    let deadline = Instant::now() + scaled(Duration::from_secs(secs));
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "sproot exited ({status:?}) before {} appeared",
                path.display()
            );
        }
        if Instant::now() >= deadline {
            kill(-(child.id() as i32), libc::SIGKILL);
            let _ = child.wait();
            panic!("{} did not appear within {secs} s", path.display());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` to exit; kills its group and panics on timeout.
fn wait_child(child: &mut Child, secs: u64, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + scaled(Duration::from_secs(secs));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if Instant::now() >= deadline {
            kill(-(child.id() as i32), libc::SIGKILL);
            let _ = child.wait();
            panic!("TIMEOUT: {what} did not exit within {secs} s");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn unique_tag(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A guest shell that traps `sig`, says when it is ready, and idles.
/// Its output goes to `/tmp/out` in the rootfs.
fn trap_and_idle_script(sig: &str) -> String {
    format!(
        "exec >/tmp/out 2>&1; trap 'echo got-{sig}; exit 3' {sig}; : > /tmp/ready; \
         while :; do sleep 0.1; done"
    )
}

fn signal_sent_to_sproot_reaches_the_guest_once(sig: &str, signo: i32) {
    let r = tiny_rootfs();
    let script = trap_and_idle_script(sig);
    let tag = unique_tag("sig");
    let mut child = spawn_tagged(&r, &["/bin/sh", "-c", &script], &tag);
    wait_for_file(&r.host_path("/tmp/ready"), &mut child, T);
    kill(child.id() as i32, signo);
    let status = wait_child(&mut child, T, "sproot after a signal");
    for pid in tagged_pids(&tag) {
        kill(pid, libc::SIGKILL);
    }
    let out = fs::read_to_string(r.host_path("/tmp/out")).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(3),
        "status {status:?}; guest output:\n{out}"
    );
    assert_eq!(
        out,
        format!("got-{sig}\n"),
        "the guest must see it exactly once"
    );
}

#[test]
fn sigterm_sent_to_sproot_reaches_the_guest_once() {
    signal_sent_to_sproot_reaches_the_guest_once("TERM", libc::SIGTERM);
}

#[test]
fn sighup_sent_to_sproot_reaches_the_guest_once() {
    signal_sent_to_sproot_reaches_the_guest_once("HUP", libc::SIGHUP);
}

#[test]
fn sigkill_of_sproot_leaves_no_guest_behind() {
    let r = tiny_rootfs();
    let tag = unique_tag("kill9");
    let mut child = spawn_tagged(
        &r,
        &[
            "/bin/sh",
            "-c",
            "sleep 987 & sleep 987 & : > /tmp/ready; wait",
        ],
        &tag,
    );
    wait_for_file(&r.host_path("/tmp/ready"), &mut child, T);
    // Let the background sleeps get going.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tagged_pids(&tag).len() < 3 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let before = tagged_pids(&tag);
    kill(child.id() as i32, libc::SIGKILL);
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = tagged_pids(&tag);
    while !left.is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        left = tagged_pids(&tag);
    }
    let described: Vec<String> = left
        .iter()
        .map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let state = status
                .lines()
                .find(|l| l.starts_with("State:"))
                .unwrap_or("")
                .to_string();
            format!(
                "{pid}: {} ({state})",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect();
    // Never leave orphans behind, whatever the verdict.
    for pid in &left {
        kill(*pid, libc::SIGKILL);
    }
    assert!(
        before.len() >= 3,
        "expected the shell and two sleeps to be running, saw {before:?}"
    );
    assert!(
        left.is_empty(),
        "guests outlived sproot:\n{}",
        described.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Signals inside the guest
// ---------------------------------------------------------------------------

#[test]
fn guest_signal_to_itself_runs_its_trap() {
    let r = tiny_rootfs();
    let out = sh(&r, "trap 'echo got-usr1' USR1; kill -USR1 $$; echo after");
    assert_eq!(ok_stdout(&out, "kill -USR1 $$"), "got-usr1\nafter\n");
}

#[test]
fn guest_signal_to_its_child_is_delivered() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "sleep 30 & pid=$!; kill -TERM $pid; wait $pid; echo status=$?",
    );
    assert_eq!(ok_stdout(&out, "kill a child"), "status=143\n");
}

#[test]
fn stopped_and_continued_guest_child_finishes() {
    let r = tiny_rootfs();
    let out = sh(
        &r,
        "sleep 0.5 & pid=$!; kill -STOP $pid; kill -CONT $pid; wait $pid; echo status=$?",
    );
    assert_eq!(ok_stdout(&out, "STOP/CONT"), "status=0\n");
}

const CTRL_C_PY: &str = r#"
import os, pty, select, sys, time
sproot, root = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sproot, [sproot, "-r", root, "-b", "/dev", "/bin/sh", "-c",
                      "trap 'echo got-int' INT; echo ready; sleep 5; echo done"])
buf = b""
deadline = time.time() + 30
def pump(until):
    global buf
    while time.time() < deadline and until():
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 1024)
            except OSError:
                return
            if not d:
                return
            buf += d
pump(lambda: b"ready" not in buf)
time.sleep(0.5)
os.write(fd, b"\x03")
pump(lambda: b"done" not in buf)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace").replace("\r", ""))
sys.stdout.write("status=%d\n" % os.waitstatus_to_exitcode(status))
"#;

/// Ctrl-C typed in a terminal reaches the guest (once: the terminal already
/// signals the whole foreground process group and sproot does not pass its
/// own copy on; a second copy arriving at once would coalesce, so this test
/// mostly guards the delivery itself).
#[test]
fn ctrl_c_in_a_terminal_reaches_the_guest() {
    let r = tiny_rootfs();
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", CTRL_C_PY]).arg(sproot_bin()).arg(r.root());
    let out = output_with_timeout(
        cmd,
        std::time::Duration::from_secs(60),
        "Ctrl-C through a pty",
    );
    assert_success(&out, "pty driver");
    let text = stdout_str(&out);
    assert_eq!(text.matches("got-int").count(), 1, "{text}");
    assert!(text.contains("done"), "{text}");
    assert!(text.contains("status=0"), "{text}");
}

/// `kill -STOP` (and Ctrl-Z) must leave a guest stopped until `SIGCONT`:
/// tracees are seized so that their group-stop can be kept (PTRACE_LISTEN).
#[test]
fn a_stopped_guest_stays_stopped_until_continued() {
    let r = tiny_rootfs();
    let script = "sleep 2 & pid=$!; kill -STOP $pid; sleep 0.5; \
                  read -r a b state rest < /proc/$pid/stat; echo stopped:$state; \
                  kill -CONT $pid; sleep 0.3; read -r a b state rest < /proc/$pid/stat; \
                  echo continued:$state; wait $pid; echo status:$?";
    let out = r.run_timeout(&["-b", "/proc", "-b", "/dev", "/bin/sh", "-c", script], T);
    assert_success(&out, "STOP/CONT of a guest");
    let text = stdout_str(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0] == "stopped:T" || lines[0] == "stopped:t",
        "a SIGSTOPped guest kept running: {text}"
    );
    assert_eq!(lines[1], "continued:S", "{text}");
    assert_eq!(lines[2], "status:0", "{text}");
}
