//! Foreign-architecture guests with `-q`: an arm64 Debian rootfs run on this
//! host through QEMU user mode (Debian's `qemu-user-static`), as Termux users
//! run an x86_64 distribution on an aarch64 phone and the other way round.
//!
//! Needs `qemu-aarch64-static` (and, for the dynamic QEMU test, Debian's
//! `qemu-user`) on the host and an arm64 rootfs made by
//! `scripts/mkrootfs-arm64.sh`, named by `SPROOT_ARM64_ROOTFS` (CI sets it);
//! without them each test says why it is skipped.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const QEMU: &str = "qemu-aarch64-static";

fn have_qemu() -> bool {
    Command::new(QEMU)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The arm64 rootfs, when this machine has it and QEMU.
fn arm64(test: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("SPROOT_ARM64_ROOTFS").map(PathBuf::from) else {
        eprintln!("{test}: skipped: SPROOT_ARM64_ROOTFS is not set (scripts/mkrootfs-arm64.sh)");
        return None;
    };
    assert!(
        root.join(".sproot-rootfs-ok").is_file(),
        "SPROOT_ARM64_ROOTFS={} is not a finished rootfs",
        root.display()
    );
    assert!(have_qemu(), "{QEMU} is missing (Debian's qemu-user-static)");
    Some(root)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `sproot -r ROOT -b /proc -b /dev -q QEMU OPTS... COMMAND...`.
fn sproot_q(root: &PathBuf, qemu: &str, opts: &[&str], command: &[&str]) -> Command {
    let mut cmd = sproot_cmd(&["-r"]);
    cmd.arg(root)
        .args(["-b", "/proc", "-b", "/dev", "-q", qemu]);
    cmd.args(opts).args(command);
    cmd
}

fn run(cmd: Command, what: &str) -> Output {
    output_with_timeout(cmd, Duration::from_secs(120), what)
}

/// `/bin/sh -c SCRIPT` in the arm64 guest.
fn sh(root: &PathBuf, opts: &[&str], script: &str) -> Output {
    run(
        sproot_q(root, QEMU, opts, &["/bin/sh", "-c", script]),
        &format!("-q sh -c {script:?}"),
    )
}

#[test]
fn a_foreign_shell_runs_pipes_bash_and_ls_and_sees_its_own_machine() {
    let Some(root) = arm64("foreign_shell") else {
        return;
    };
    let out = sh(
        &root,
        &[],
        "uname -m; echo a b c | wc -w; bash -c 'echo $((6 * 7)) $0'; ls /bin/dash; cat /etc/debian_version",
    );
    assert_success(&out, "foreign shell");
    let version = std::fs::read_to_string(root.join("etc/debian_version")).unwrap();
    assert_eq!(
        stdout_str(&out),
        format!("aarch64\n3\n42 bash\n/bin/dash\n{version}")
    );
}

#[test]
fn proc_self_exe_names_the_guest_program_not_qemu() {
    let Some(root) = arm64("proc_self_exe") else {
        return;
    };
    // Its own exe (QEMU answers for the program it runs), and another
    // process's (sproot answers from what it started).
    let out = sh(&root, &[], "readlink /proc/self/exe; readlink /proc/$$/exe");
    assert_success(&out, "readlink /proc/self/exe");
    assert_eq!(stdout_str(&out), "/bin/readlink\n/bin/dash\n");
}

#[test]
fn exit_statuses_and_signals_pass_through_qemu() {
    let Some(root) = arm64("exit_statuses") else {
        return;
    };
    let out = sh(&root, &[], "(exit 3); echo $?; exit 7");
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert_eq!(stdout_str(&out), "3\n");
    let out = sh(&root, &[], "kill -TERM $$; sleep 5");
    assert_eq!(out.status.code(), Some(143), "{}", describe(&out));
}

#[test]
fn fake_root_and_bindings_work_under_qemu_for_an_unprivileged_user() {
    let Some(root) = arm64("fake_root") else {
        return;
    };
    if !is_root() {
        eprintln!("fake_root: skipped: needs root to drop to an unprivileged user");
        return;
    }
    let dir = unique_temp_dir("qemu-bind");
    std::fs::write(dir.join("note"), "from the host\n").unwrap();
    let bind = format!("{}:/mnt/host", dir.display());
    let as_nobody = |opts: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        let inner = sproot_q(
            &root,
            QEMU,
            opts,
            &["/bin/sh", "-c", "id -u; id -g; cat /mnt/host/note"],
        );
        cmd.arg(inner.get_program()).args(inner.get_args());
        run(cmd, &format!("-q as nobody {opts:?}"))
    };
    let fake = as_nobody(&["-0", "-b", &bind]);
    let plain = as_nobody(&["-b", &bind]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_success(&fake, "-0 under -q");
    assert_eq!(stdout_str(&fake), "0\n0\nfrom the host\n");
    assert_success(&plain, "no -0 under -q");
    assert_eq!(stdout_str(&plain), "65534\n65534\nfrom the host\n");
}

const MACHINE_C: &str = r#"
#include <stdio.h>
#include <sys/utsname.h>
int main(void) { struct utsname u; uname(&u); printf("native %s\n", u.machine); return 0; }
"#;

#[test]
fn native_programs_run_directly_and_foreign_ones_through_qemu_from_either() {
    let Some(root) = arm64("native_programs") else {
        return;
    };
    let Some(bin) = compile_c(MACHINE_C, &["-static"]) else {
        return;
    };
    let bind = format!("{}:/native", bin.display());
    // A foreign shell execs a native program and a foreign one; a native
    // first command runs directly.
    let out = sh(&root, &["-b", &bind], "/native; uname -m");
    assert_success(&out, "foreign shell runs native and foreign programs");
    let arch = std::env::consts::ARCH;
    assert_eq!(stdout_str(&out), format!("native {arch}\naarch64\n"));
    let out = run(
        sproot_q(&root, QEMU, &["-b", &bind], &["/native"]),
        "native first command",
    );
    assert_success(&out, "native first command");
    assert_eq!(stdout_str(&out), format!("native {arch}\n"));

    // PROOT_FORCE_FOREIGN_BINARY=1 sends native programs through QEMU too:
    // a QEMU for this host with -strace shows that it ran the program.
    forced_through(&root, &format!("qemu-{arch}-static"), &bind);
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

/// With `PROOT_FORCE_FOREIGN_BINARY=1` the native program bound by `bind`
/// at `/native` runs under `qemu` (a QEMU for this host, whose `-strace`
/// shows that it ran the program); with `0` it runs directly.
fn forced_through(root: &PathBuf, qemu: &str, bind: &str) {
    let arch = std::env::consts::ARCH;
    let traced = format!("{qemu} -strace");
    for (force, ran_under_qemu) in [("1", true), ("0", false)] {
        let mut cmd = sproot_q(root, &traced, &["-b", bind], &["/native"]);
        cmd.env("PROOT_FORCE_FOREIGN_BINARY", force);
        let what = format!("PROOT_FORCE_FOREIGN_BINARY={force} with {qemu}");
        let out = run(cmd, &what);
        assert_success(&out, &what);
        assert_eq!(stdout_str(&out), format!("native {arch}\n"));
        assert_eq!(
            stderr_str(&out).contains("uname("),
            ran_under_qemu,
            "{what}: {}",
            describe(&out)
        );
    }
}

#[test]
fn a_script_finds_its_foreign_interpreter_in_the_guest() {
    let Some(root) = arm64("shebang") else {
        return;
    };
    let dir = unique_temp_dir("qemu-script");
    let script = dir.join("s");
    std::fs::write(
        &script,
        "#!/bin/bash\necho \"$0 $1 ${BASH_VERSINFO[0]}\"; uname -m\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bind = format!("{}:/usr/local/bin/s", script.display());
    let out = run(
        sproot_q(&root, QEMU, &["-b", &bind], &["/usr/local/bin/s", "arg"]),
        "foreign #! script",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_success(&out, "foreign #! script");
    assert_eq!(stdout_str(&out), "/usr/local/bin/s arg 5\naarch64\n");
}

#[test]
fn a_missing_qemu_is_refused_clearly() {
    let r = tiny_rootfs();
    let out = r.run(&["-q", "no-such-qemu-x", "/bin/true"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr_str(&out).contains("no-such-qemu-x: not found in the host's PATH"),
        "{}",
        describe(&out)
    );
}

/// Debian's `qemu-user` (dynamically linked), as Termux's QEMU is.
const DYNAMIC_QEMU: &str = "qemu-aarch64";

#[test]
fn a_dynamic_qemu_runs_with_the_hosts_libraries_from_the_bound_root() {
    let Some(root) = arm64("dynamic_qemu") else {
        return;
    };
    assert!(
        Command::new(DYNAMIC_QEMU)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "{DYNAMIC_QEMU} is missing (Debian's qemu-user)"
    );
    let dir = unique_temp_dir("qemu-dynamic");
    let script = dir.join("s");
    std::fs::write(&script, "#!/bin/bash\necho \"$0 $1\"; uname -m\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bind = format!("{}:/usr/local/bin/s", script.display());
    // The host's / is bound at /host-rootfs for QEMU's own libraries; the
    // guest's programs, its own, run as with a static QEMU.
    let out = run(
        sproot_q(
            &root,
            DYNAMIC_QEMU,
            &["-0", "-b", &bind],
            &[
                "/bin/sh",
                "-c",
                "uname -m; echo a b c | wc -w; readlink /proc/self/exe; id -u; \
                 /usr/local/bin/s arg; ls -d /host-rootfs/usr/bin",
            ],
        ),
        "dynamic QEMU",
    );
    assert_success(&out, "dynamic QEMU");
    assert_eq!(
        stdout_str(&out),
        "aarch64\n3\n/bin/readlink\n0\n/usr/local/bin/s arg\naarch64\n/host-rootfs/usr/bin\n"
    );
    // Where the user bound the host's / already, that binding serves.
    let out = run(
        sproot_q(
            &root,
            DYNAMIC_QEMU,
            &["-b", "/:/hostfs"],
            &[
                "/bin/sh",
                "-c",
                "uname -m; test -e /host-rootfs || echo no host-rootfs",
            ],
        ),
        "dynamic QEMU with / bound",
    );
    assert_success(&out, "dynamic QEMU with / bound");
    assert_eq!(stdout_str(&out), "aarch64\nno host-rootfs\n");

    // QEMU's own options (-E sets the guest's environment), and a script
    // whose interpreter is a script.
    let nested = dir.join("s2");
    std::fs::write(&nested, "#!/usr/local/bin/s\n").unwrap();
    std::fs::set_permissions(&nested, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bind2 = format!("{}:/usr/local/bin/s2", nested.display());
    let out = run(
        sproot_q(
            &root,
            &format!("{DYNAMIC_QEMU} -E SPROOT_QEMU_ENV=passed"),
            &["-b", &bind, "-b", &bind2],
            &[
                "/bin/sh",
                "-c",
                "echo $SPROOT_QEMU_ENV; /usr/local/bin/s2 x",
            ],
        ),
        "dynamic QEMU with -E and a nested script",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_success(&out, "dynamic QEMU with -E and a nested script");
    assert_eq!(
        stdout_str(&out),
        "passed\n/usr/local/bin/s /usr/local/bin/s2\naarch64\n"
    );
}

#[test]
fn a_dynamic_qemu_for_this_host_takes_every_program_when_forced() {
    let Some(root) = arm64("dynamic_qemu_forced") else {
        return;
    };
    let arch = std::env::consts::ARCH;
    let host_qemu = format!("qemu-{arch}");
    if Command::new(&host_qemu).arg("--version").output().is_err() {
        eprintln!("dynamic_qemu_forced: skipped: no {host_qemu} (Debian's qemu-user)");
        return;
    }
    let Some(bin) = compile_c(MACHINE_C, &["-static"]) else {
        return;
    };
    let bind = format!("{}:/native", bin.display());
    forced_through(&root, &host_qemu, &bind);
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}
