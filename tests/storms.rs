//! Thread and fork storms on the real binary: no event order may hang a
//! guest. Each storm runs repeatedly with a timeout, in the default
//! (priority-sorted) order and in chaos order (`SPROOT_CHAOS=<seed>`: each
//! batch shuffled, some events held back to the next batch), and the
//! `--stats` file proves the reordered case (a newborn's stop handled before
//! its parent's clone event) really happened.

mod common;

use common::*;
use std::collections::HashMap;
use std::time::Duration;

const THREAD_STORM_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
static void *work(void *arg) {
    struct stat st;
    (void)arg;
    if (stat("/etc/sproot-guest", &st) != 0) { perror("stat"); exit(3); }
    return 0;
}
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    for (int r = 0; r < rounds; r++) {
        pthread_t t[64];
        for (int i = 0; i < 64; i++)
            if (pthread_create(&t[i], 0, work, 0) != 0) { perror("pthread_create"); return 2; }
        for (int i = 0; i < 64; i++) pthread_join(t[i], 0);
    }
    printf("threads ok %d\n", rounds * 64);
    return 0;
}
"#;

const FORK_STORM_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    int n = 0;
    for (int r = 0; r < 10; r++) {
        pid_t p[32];
        for (int i = 0; i < 32; i++) {
            p[i] = fork();
            if (p[i] == 0) {
                if (i % 4 == 0) { execl("/bin/true", "true", (char *)0); _exit(9); }
                _exit(access("/etc/sproot-guest", R_OK) == 0 ? 0 : 4);
            }
        }
        for (int i = 0; i < 32; i++) {
            int st;
            waitpid(p[i], &st, 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) n++;
        }
    }
    printf("forks ok %d\n", n);
    return 0;
}
"#;

fn parse_stats(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse::<f64>().ok()?;
            Some((k.to_string(), v))
        })
        .collect()
}

/// Run `args` in the rootfs with `--stats=FILE` (and chaos seed `chaos`),
/// assert success and `expect` on stdout, return the stats.
fn run_with_stats(
    r: &TinyRootfs,
    chaos: Option<u64>,
    args: &[&str],
    expect: &str,
    secs: u64,
) -> HashMap<String, f64> {
    run_engine_with_stats(r, "ptrace", chaos, args, expect, secs)
}

/// [`run_with_stats`] with `--engine=ENGINE` (the storms' event orders
/// are the ptrace engine's; the in-process engine has no events).
fn run_engine_with_stats(
    r: &TinyRootfs,
    engine: &str,
    chaos: Option<u64>,
    args: &[&str],
    expect: &str,
    secs: u64,
) -> HashMap<String, f64> {
    let stats = unique_temp_dir("stats").join("stats.txt");
    let engine = format!("--engine={engine}");
    let mut cmd = sproot_cmd(&["-r", r.root(), &engine]);
    cmd.arg(format!("--stats={}", stats.display()));
    cmd.args(args);
    if let Some(seed) = chaos {
        cmd.env("SPROOT_CHAOS", seed.to_string());
    }
    let what = format!("storm {args:?} chaos={chaos:?}");
    let out = output_with_timeout(cmd, Duration::from_secs(secs), &what);
    assert_success(&out, &what);
    assert_eq!(stdout_str(&out), expect, "{what}: {}", describe(&out));
    let text = std::fs::read_to_string(&stats).expect("stats file written");
    parse_stats(&text)
}

#[test]
fn sixty_four_threads_at_once_never_hang_sorted_or_in_chaos_order() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(THREAD_STORM_C, &["-pthread"]) else {
        return;
    };
    r.install(&bin, "/usr/bin/thread-storm");
    let expect = "threads ok 6400\n";
    let sorted = run_with_stats(&r, None, &["/usr/bin/thread-storm", "100"], expect, 120);
    // A thread costs its clone event, its newborn stop and its exit report;
    // clone itself does not stop at seccomp (glibc's clone3 answers ENOSYS
    // in the filter, and its fallback, clone, is read there).
    assert_eq!(sorted["clone-fork-vfork"], 6400.0, "{sorted:?}");
    assert_eq!(sorted["newborn"], 6400.0, "{sorted:?}");
    // One seccomp stop per stat() in each thread, plus the loader and libc
    // start-up: far fewer than a stop per clone would add.
    assert!(sorted["seccomp"] < 6400.0 + 400.0, "{sorted:?}");
    let mut reordered = 0.0;
    for seed in 1..=5u64 {
        let s = run_with_stats(
            &r,
            Some(seed),
            &["/usr/bin/thread-storm", "100"],
            expect,
            120,
        );
        reordered += s["newborn-before-parent"];
    }
    assert!(
        reordered > 0.0,
        "chaos mode never handled a newborn's stop before its parent's event"
    );
}

#[test]
fn repeated_thread_storms_all_finish() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(THREAD_STORM_C, &["-pthread"]) else {
        return;
    };
    r.install(&bin, "/usr/bin/thread-storm");
    for i in 0..10u64 {
        let chaos = (i % 2 == 1).then_some(100 + i);
        run_with_stats(
            &r,
            chaos,
            &["/usr/bin/thread-storm", "20"],
            "threads ok 1280\n",
            60,
        );
    }
}

#[test]
fn fork_storm_with_execs_never_hangs_sorted_or_in_chaos_order() {
    let r = tiny_rootfs();
    let Some(bin) = compile_c(FORK_STORM_C, &[]) else {
        return;
    };
    r.install(&bin, "/usr/bin/fork-storm");
    for chaos in [None, Some(11), Some(12), Some(13)] {
        let s = run_with_stats(&r, chaos, &["/usr/bin/fork-storm"], "forks ok 320\n", 120);
        assert_eq!(s["clone-fork-vfork"], 320.0, "{s:?}");
        assert!(s["exec"] >= 81.0, "{s:?}");
    }
}

#[test]
fn shell_background_jobs_and_pipelines_in_chaos_order() {
    let r = tiny_rootfs();
    let script =
        "for i in 1 2 3 4 5 6 7 8; do (cat /etc/sproot-guest | wc -l) & done; wait; echo done";
    let expect = format!("{}done\n", "1\n".repeat(8));
    for seed in 1..=5u64 {
        let s = run_with_stats(
            &r,
            Some(seed),
            &["-b", "/dev", "/bin/sh", "-c", script],
            &expect,
            60,
        );
        assert!(s["clone-fork-vfork"] >= 16.0, "{s:?}");
    }
}

/// The in-process engine under the same storm: every thread's `stat` is
/// translated in the thread itself, and `--stats` counts them.
#[test]
fn a_thread_storm_finishes_under_the_in_process_engine() {
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return;
    }
    let r = tiny_rootfs();
    let Some(bin) = compile_c(THREAD_STORM_C, &["-pthread"]) else {
        return;
    };
    r.install(&bin, "/usr/bin/thread-storm");
    for _ in 0..3 {
        let s = run_engine_with_stats(
            &r,
            "inproc",
            None,
            &["/usr/bin/thread-storm", "100"],
            "threads ok 6400\n",
            120,
        );
        assert_eq!(s["stops"], 0.0, "{s:?}");
        assert!(s["translated"] >= 6400.0, "{s:?}");
    }
}
