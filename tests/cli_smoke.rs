//! Black-box checks of the command line: no tracing needed to pass these.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

#[track_caller]
fn assert_no_panic(out: &std::process::Output, what: &str) {
    let err = stderr_str(out);
    assert!(
        !err.contains("panicked"),
        "{what}: sproot panicked\n{}",
        describe(out)
    );
    assert!(
        out.status.code().is_some(),
        "{what}: sproot died of a signal instead of exiting\n{}",
        describe(out)
    );
}

#[test]
fn help_exits_zero_and_lists_core_options() {
    let out = run_timeout(&["--help"], 10);
    assert_success(&out, "sproot --help");
    assert_no_panic(&out, "sproot --help");
    let text = stdout_str(&out);
    for needle in ["-r", "--rootfs", "-b", "--bind", "-w", "--cwd"] {
        assert!(
            text.contains(needle),
            "--help does not mention `{needle}`\n{}",
            describe(&out)
        );
    }
    // Every option works: --help must not call any of them missing.
    assert_eq!(text.matches("not supported").count(), 0, "{text}");
}

#[test]
fn short_version_flag_prints_a_version() {
    let out = run_timeout(&["-V"], 10);
    assert_success(&out, "sproot -V");
    let text = stdout_str(&out) + &stderr_str(&out);
    let has_version = text
        .split(|c: char| c.is_whitespace() || c == 'v')
        .any(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .take(2)
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        });
    assert!(
        has_version,
        "sproot -V printed no version number\n{}",
        describe(&out)
    );
    assert!(
        text.contains(env!("CARGO_PKG_VERSION")),
        "sproot -V does not print the crate version {}\n{}",
        env!("CARGO_PKG_VERSION"),
        describe(&out)
    );
}

#[test]
fn missing_rootfs_is_a_clean_error_naming_the_path() {
    let missing = "/nonexistent/sproot-no-such-rootfs";
    let out = run_timeout(&["-r", missing, "true"], 10);
    assert!(
        !out.status.success(),
        "sproot -r {missing} true succeeded\n{}",
        describe(&out)
    );
    assert_no_panic(&out, "sproot -r <missing> true");
    assert!(
        stderr_str(&out).contains(missing),
        "error message does not name the missing rootfs {missing}\n{}",
        describe(&out)
    );
}

#[test]
fn unknown_option_is_rejected() {
    let out = run_timeout(&["--bogus-option-that-does-not-exist"], 10);
    assert!(
        !out.status.success(),
        "sproot accepted an unknown option\n{}",
        describe(&out)
    );
    assert_no_panic(&out, "sproot --bogus");
    assert!(
        !stderr_str(&out).is_empty(),
        "unknown option rejected without any message\n{}",
        describe(&out)
    );
}

#[test]
fn rootfs_that_is_a_file_is_a_clean_error() {
    let dir = unique_temp_dir("cli-file-rootfs");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = run_timeout(&["-r", file.to_str().unwrap(), "true"], 10);
    remove_temp_dir(&dir);
    assert!(
        !out.status.success(),
        "sproot accepted a regular file as rootfs\n{}",
        describe(&out)
    );
    assert_no_panic(&out, "sproot -r <file> true");
}

/// Checks the test scaffolding itself, not sproot: the tiny rootfs must be a
/// complete guest on its own, which a real chroot proves (skipped unless root).
#[test]
fn tiny_rootfs_is_self_contained_under_real_chroot() {
    let t0 = std::time::Instant::now();
    let rootfs = tiny_rootfs();
    let built = t0.elapsed();
    eprintln!(
        "tiny rootfs built in {built:?} at {}",
        rootfs.path.display()
    );
    assert!(
        built < Duration::from_secs(5),
        "tiny_rootfs() took {built:?}; it should take well under a second"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.host_path("/etc/sproot-guest")).unwrap(),
        GUEST_MARKER
    );

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped chroot part: needs root");
        return;
    }
    let mut cmd = Command::new("chroot");
    cmd.arg(&rootfs.path).args([
        "/bin/sh",
        "-c",
        "cat /etc/sproot-guest && /bin/bash -c 'echo bash ok' && /usr/bin/env true && ls / >/dev/null && \
         cd /tmp && mkdir d && touch d/f && ln -s f d/l && readlink d/l && stat -c %a /tmp && rm -r d && id -un",
    ]);
    let out = output_with_timeout(cmd, Duration::from_secs(20), "chroot <tiny rootfs>");
    assert_success(&out, "chroot into tiny rootfs");
    assert_eq!(stdout_str(&out), "guest\nbash ok\nf\n1777\nroot\n");
}

/// Not a check by itself: the probe that
/// `temp_dirs_of_passing_tests_go_and_a_failing_test_s_stay` runs in a child
/// test process. With `SPROOT_HOUSEKEEPING_PROBE` unset it does nothing.
#[test]
fn housekeeping_probe() {
    let Ok(mode) = std::env::var("SPROOT_HOUSEKEEPING_PROBE") else {
        return;
    };
    let dir = unique_temp_dir("probe");
    std::fs::write(dir.join("f"), "x").unwrap();
    assert_ne!(mode, "fail", "failing on purpose");
}

#[test]
fn temp_dirs_of_passing_tests_go_and_a_failing_test_s_stay() {
    let tmp = unique_temp_dir("housekeeping");
    let probe = |mode: &str| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "housekeeping_probe", "--test-threads=1"])
            .env("SPROOT_HOUSEKEEPING_PROBE", mode)
            .env("TMPDIR", &tmp);
        output_with_timeout(cmd, Duration::from_secs(30), "housekeeping probe")
    };
    let left = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    };
    let out = probe("pass");
    assert_success(&out, "passing probe");
    assert_eq!(
        left(),
        Vec::<std::path::PathBuf>::new(),
        "{}",
        describe(&out)
    );

    let out = probe("fail");
    assert!(!out.status.success(), "{}", describe(&out));
    let kept = left();
    assert_eq!(kept.len(), 1, "{kept:?}\n{}", describe(&out));
    let name = kept[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("sproot-probe-"), "{name}");
    assert!(
        stderr_str(&out).contains(&format!("kept its directory {}", kept[0].display())),
        "{}",
        describe(&out)
    );
    remove_temp_dir(&tmp);
}
