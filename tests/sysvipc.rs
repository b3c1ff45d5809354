//! `--sysvipc`: System V IPC emulated for the guests of one run. What a
//! program sees is compared with the kernel's own IPC (the same static
//! program run natively); the emulation is checked to be a namespace of
//! its own, and its files to go when the run ends.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const T: u64 = 90;

/// `probe make KEY` creates a 4096-byte segment with that key (and
/// attaches it); `probe look KEY` says whether the key exists;
/// `probe remove KEY` removes it; `probe hold KEY` creates and attaches
/// one, says "ready" and waits a second.
const PROBE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    key_t key = (key_t)strtol(argv[2], NULL, 0);
    if (!strcmp(argv[1], "look")) {
        int id = shmget(key, 0, 0);
        printf("%s\n", id >= 0 ? "found" : strerrorname_np(errno));
        return 0;
    }
    if (!strcmp(argv[1], "remove"))
        return shmctl(shmget(key, 0, 0), IPC_RMID, NULL) != 0;
    int id = shmget(key, 4096, IPC_CREAT | 0600);
    char *p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
    if (p == (void *)-1) {
        perror("probe");
        return 1;
    }
    strcpy(p, "held");
    printf("ready\n");
    fflush(stdout);
    if (!strcmp(argv[1], "hold"))
        sleep(1);
    return 0;
}
"#;

struct Programs {
    rootfs: TinyRootfs,
    semantics: PathBuf,
    probe: PathBuf,
}

fn programs() -> Option<Programs> {
    let semantics = compile_c(include_str!("sysvipc/semantics.c"), &["-static"])?;
    let probe = compile_c(PROBE, &["-static"])?;
    let rootfs = tiny_rootfs();
    rootfs.install(&semantics, "/semantics");
    rootfs.install(&probe, "/probe");
    Some(Programs {
        rootfs,
        semantics,
        probe,
    })
}

fn native(prog: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(prog);
    cmd.args(args);
    let out = output_with_timeout(cmd, scaled(Duration::from_secs(T)), "the program natively");
    assert_success(&out, "the program natively");
    stdout_str(&out)
}

#[test]
fn the_emulation_answers_as_the_kernel_does() {
    let Some(p) = programs() else { return };
    let want = native(&p.semantics, &[]);
    assert!(
        want.contains("waiter got EIDRM: yes"),
        "native run:\n{want}"
    );
    // --no-seccomp is the ptrace engine's alone (the in-process engine
    // refuses it): with SPROOT_ENGINE=inproc, the others run in-process.
    let modes = [
        &[][..],
        &["--engine=ptrace", "--no-seccomp"],
        &["-0"],
        &["-i", "1234:5678"],
    ];
    for mode in modes {
        let mut args = vec!["--sysvipc"];
        args.extend_from_slice(mode);
        args.push("/semantics");
        let out = p.rootfs.run_timeout(&args, T);
        assert_success(&out, &format!("sproot {}", args.join(" ")));
        let got = stdout_str(&out);
        if got != want {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("  kernel: {a}\n  sproot: {b}"))
                .collect();
            panic!(
                "sproot {} differs from the kernel's IPC:\n{}\n--- sproot's output ---\n{got}",
                args.join(" "),
                diff.join("\n")
            );
        }
    }
}

#[test]
fn with_sysvipc_the_guests_have_a_namespace_of_their_own() {
    let Some(p) = programs() else { return };
    let key = format!("{:#x}", 0x5350_8000 + std::process::id() % 4096);
    let key2 = format!("{:#x}", 0x5350_9000 + std::process::id() % 4096);
    assert_eq!(native(&p.probe, &["make", &key]), "ready\n");
    let look = |extra: &[&str], key: &str| {
        let mut args = extra.to_vec();
        args.extend_from_slice(&["/probe", "look", key]);
        let out = p.rootfs.run_timeout(&args, T);
        assert_success(&out, "probe look");
        stdout_str(&out)
    };
    // Without --sysvipc the kernel's IPC is used; with it, the host's
    // segment is not there.
    let without = look(&[], &key);
    let with = look(&["--sysvipc"], &key);
    // A segment made by a guest does not reach the host.
    let made = p
        .rootfs
        .run_timeout(&["--sysvipc", "/probe", "make", &key2], T);
    let host_sees = native(&p.probe, &["look", &key2]);
    let _ = native(&p.probe, &["remove", &key]);
    assert_eq!(without, "found\n", "without --sysvipc");
    assert_eq!(
        with, "ENOENT\n",
        "with --sysvipc the host's segment is not seen"
    );
    assert_success(&made, "probe make under --sysvipc");
    assert_eq!(
        host_sees, "ENOENT\n",
        "the guest's segment is not on the host"
    );
}

#[test]
fn segment_files_are_removed_when_the_run_ends() {
    let Some(p) = programs() else { return };
    let tmp = unique_temp_dir("sysvipc-tmp");
    let mut cmd = p
        .rootfs
        .sproot_cmd(&["--sysvipc", "/probe", "hold", "0x1234"]);
    cmd.env("PROOT_TMP_DIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start sproot");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut ready = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut ready).expect("read ready");
    assert_eq!(&ready, b"ready\n");
    // While the guest holds it: one directory with the segment's file.
    let ipc_dirs = || -> Vec<PathBuf> {
        std::fs::read_dir(&tmp)
            .expect("read the temp dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("sproot-sysvipc-"))
            })
            .collect()
    };
    let dirs = ipc_dirs();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let files = std::fs::read_dir(&dirs[0])
        .expect("read the IPC dir")
        .count();
    let status = child.wait().expect("wait for sproot");
    assert!(status.success(), "sproot: {status:?}");
    assert_eq!(files, 1, "the segment's file");
    let left = ipc_dirs();
    assert!(left.is_empty(), "left behind in PROOT_TMP_DIR: {left:?}");
    remove_temp_dir(&tmp);
}

/// As a phone user runs it: proot-distro's options, as an unprivileged
/// user, against the kernel's IPC for that same user.
#[test]
fn the_emulation_answers_as_the_kernel_does_for_an_unprivileged_user_with_proot_distros_options() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to become nobody");
        return;
    }
    let Some(p) = programs() else { return };
    let as_nobody = |prog: &std::ffi::OsStr, args: &[&std::ffi::OsStr]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        cmd.arg(prog).args(args).env("TMPDIR", "/tmp");
        output_with_timeout(cmd, scaled(Duration::from_secs(T)), "as nobody")
    };
    let native = as_nobody(p.semantics.as_os_str(), &[]);
    assert_success(&native, "the program natively as nobody");
    let sproot = sproot_bin();
    let words = [
        "-r",
        p.rootfs.root(),
        "-0",
        "--link2symlink",
        "-L",
        "--sysvipc",
        "--kill-on-exit",
        "/semantics",
    ];
    let args: Vec<&std::ffi::OsStr> = words.iter().map(std::ffi::OsStr::new).collect();
    let out = as_nobody(sproot.as_os_str(), &args);
    assert_success(&out, "sproot with proot-distro's options as nobody");
    assert_eq!(
        stdout_str(&out),
        stdout_str(&native),
        "sproot (left) and the kernel (right) differ"
    );
}
