//! The command line's rules, each checked on the real binary: what is an
//! option and what is the command, PRoot's last-wins rules, how the first
//! command starts, and messages that say what is wrong.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::Duration;

const T: u64 = 30;

fn exe(r: &TinyRootfs, guest: &str, content: &str) {
    let p = r.write(guest, content);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

#[track_caller]
fn ok_out(out: &Output, what: &str) -> String {
    assert_success(out, what);
    stdout_str(out)
}

// ---- what is an option, what is the command ----

#[test]
fn stats_never_takes_the_next_word_so_no_host_file_is_overwritten() {
    let r = tiny_rootfs();
    let dir = unique_temp_dir("cli-stats-victim");
    let victim = dir.join("precious");
    fs::write(&victim, "precious\n").unwrap();
    // The word after --stats is the command (missing in the guest), not
    // the file to write the statistics to.
    let out = r.run_timeout(&["--stats", victim.to_str().unwrap()], T);
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");

    let out = r.run_timeout(&["--stats", "/bin/echo", "ran"], T);
    assert_eq!(ok_out(&out, "--stats CMD"), "ran\n");
    assert!(
        stderr_str(&out).contains("sproot stats:"),
        "{}",
        describe(&out)
    );

    let file = dir.join("stats.txt");
    let out = r.run_timeout(&[&format!("--stats={}", file.display()), "/bin/true"], T);
    assert_success(&out, "--stats=FILE");
    assert!(fs::read_to_string(&file).unwrap().contains("sproot stats:"));
    remove_temp_dir(&dir);
}

#[test]
fn unknown_options_before_the_command_are_refused_like_proot() {
    let r = tiny_rootfs();
    for bad in ["--frobnicate", "-x"] {
        let out = r.run_timeout(&[bad, "/bin/echo", "ran"], T);
        assert_eq!(out.status.code(), Some(1), "{bad}: {}", describe(&out));
        assert!(
            stderr_str(&out).starts_with(&format!("sproot error: unknown option '{bad}'")),
            "{}",
            describe(&out)
        );
        assert_eq!(stdout_str(&out), "", "{}", describe(&out));
    }
}

#[test]
fn the_first_word_without_a_dash_or_what_follows_double_dash_is_the_command() {
    let r = tiny_rootfs();
    // Options after the command word are the command's.
    let out = r.run_timeout(&["/bin/echo", "-n", "-r", "x"], T);
    assert_eq!(ok_out(&out, "echo -n -r x"), "-r x");
    exe(&r, "/usr/bin/-dash", "#!/bin/sh\necho \"dash $1\"\n");
    let out = r.run_timeout(&["-w", "/usr/bin", "--", "./-dash", "--frobnicate"], T);
    assert_eq!(ok_out(&out, "-- ./-dash"), "dash --frobnicate\n");
}

// ---- PRoot's last-wins rules ----

#[test]
fn the_last_of_rootfs_and_a_binding_of_slash_chooses_the_rootfs() {
    let r = tiny_rootfs();
    let missing = "/nonexistent/sproot-other-rootfs";
    let slash = format!("{}:/", r.root());
    // -b ROOT:/ after -r MISSING: the binding wins and the run works.
    let out = run_timeout(
        &["-r", missing, "-b", &slash, "/bin/cat", "/etc/sproot-guest"],
        T,
    );
    assert_eq!(ok_out(&out, "-r missing -b root:/"), GUEST_MARKER);
    // -r MISSING after -b ROOT:/: -r wins and names the missing rootfs.
    let out = run_timeout(&["-b", &slash, "-r", missing, "/bin/true"], T);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr_str(&out).contains(missing), "{}", describe(&out));
}

#[test]
fn the_last_of_root_id_and_change_id_wins() {
    let r = tiny_rootfs();
    let out = r.run_timeout(&["-0", "-i", "1234:1234", "/usr/bin/id", "-u"], T);
    assert_eq!(ok_out(&out, "-0 -i"), "1234\n");
    let out = r.run_timeout(&["-i", "1234:1234", "-0", "/usr/bin/id", "-u"], T);
    assert_eq!(ok_out(&out, "-i -0"), "0\n");
}

// ---- the guest's working directory ----

#[test]
fn a_relative_cwd_starts_from_the_host_current_directory() {
    let r = tiny_rootfs();
    fs::create_dir(r.host_path("/usr/only-here")).unwrap();
    for (w, expect) in [
        ("only-here", "/usr/only-here\n"),
        (".", "/usr\n"),
        ("../etc", "/etc\n"),
    ] {
        let mut cmd = r.sproot_cmd(&["-w", w, "/bin/pwd"]);
        cmd.current_dir(r.host_path("/usr"));
        let out = output_with_timeout(cmd, Duration::from_secs(T), "relative -w");
        assert_eq!(ok_out(&out, &format!("-w {w}")), expect, "-w {w}");
        assert_eq!(stderr_str(&out), "", "{}", describe(&out));
    }
}

#[test]
fn the_guest_starts_with_pwd_set_to_its_working_directory() {
    let r = tiny_rootfs();
    let mut cmd = r.sproot_cmd(&["-w", "/etc", "/usr/bin/env"]);
    cmd.env("PWD", "/host/stale/pwd");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "env");
    let env = ok_out(&out, "env");
    assert!(env.lines().any(|l| l == "PWD=/etc"), "{env}");
}

#[test]
fn a_cwd_that_is_missing_or_not_a_directory_says_which() {
    let r = tiny_rootfs();
    let out = r.run_timeout(&["-w", "/no/such/dir", "/bin/pwd"], T);
    assert_eq!(ok_out(&out, "-w missing"), "/\n");
    assert_eq!(
        stderr_str(&out),
        "sproot warning: -w /no/such/dir does not exist in the guest; starting in /\n"
    );
    let out = r.run_timeout(&["-w", "/etc/passwd", "/bin/pwd"], T);
    assert_eq!(ok_out(&out, "-w file"), "/\n");
    assert_eq!(
        stderr_str(&out),
        "sproot warning: -w /etc/passwd is not a directory in the guest; starting in /\n"
    );
}

// ---- bindings ----

#[test]
fn a_binding_whose_host_path_is_missing_is_a_warning_naming_it_once() {
    let r = tiny_rootfs();
    let missing = "/nonexistent/sproot-missing-host";
    let out = r.run_timeout(&["-b", missing, "/bin/echo", "ran"], T);
    assert_eq!(ok_out(&out, "-b missing"), "ran\n");
    let err = stderr_str(&out);
    assert_eq!(err.matches(missing).count(), 1, "{err}");
    assert!(
        err.starts_with("sproot warning: ") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_bad_binding_is_named_once() {
    let r = tiny_rootfs();
    let out = r.run_timeout(&["-b", "/etc:", "/bin/true"], T);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr_str(&out);
    assert_eq!(err.matches("/etc:").count(), 1, "{err}");
}

// ---- how the first command starts ----

#[test]
fn a_script_without_or_with_an_empty_shebang_runs_under_sh_like_execvp() {
    let r = tiny_rootfs();
    exe(&r, "/usr/bin/plain", "echo \"plain $0 $1\"\n");
    exe(&r, "/usr/bin/empty", "#!\necho \"empty $0 $1\"\n");
    exe(&r, "/usr/bin/blank", "#!   \necho \"blank $0 $1\"\n");
    for name in ["plain", "empty", "blank"] {
        let out = r.run_timeout(&[&format!("/usr/bin/{name}"), "x"], T);
        assert_eq!(
            ok_out(&out, name),
            format!("{name} /usr/bin/{name} x\n"),
            "{name}"
        );
        // Found through $PATH too.
        let mut cmd = r.sproot_cmd(&[name, "y"]);
        cmd.env("PATH", "/usr/bin:/bin");
        let out = output_with_timeout(cmd, Duration::from_secs(T), name);
        assert_eq!(ok_out(&out, name), format!("{name} /usr/bin/{name} y\n"));
    }
}

/// PRoot's rule: without a `$PATH` (unset or empty) a bare name is not
/// looked up, not even in the cwd; a name with a `/` runs from the cwd.
#[test]
fn without_path_a_bare_name_is_not_looked_up_but_a_relative_one_runs() {
    let r = tiny_rootfs();
    let run = |path: Option<&str>, args: &[&str]| {
        let mut cmd = r.sproot_cmd(args);
        match path {
            Some(p) => cmd.env("PATH", p),
            None => cmd.env_remove("PATH"),
        };
        output_with_timeout(cmd, Duration::from_secs(T), &args.join(" "))
    };
    for path in [None, Some("")] {
        for args in [&["true"][..], &["-w", "/bin", "true"]] {
            let out = run(path, args);
            assert_eq!(out.status.code(), Some(127), "{path:?}: {}", describe(&out));
            let err = stderr_str(&out);
            assert!(
                err.starts_with("sproot error: true: not found: $PATH is unset or empty"),
                "{err}"
            );
        }
        let out = run(path, &["-w", "/bin", "true"]);
        assert!(
            stderr_str(&out).contains("./true"),
            "a hint for the one in the cwd: {}",
            describe(&out)
        );
        for args in [
            &["-w", "/bin", "./true"][..],
            &["-w", "/", "bin/true"],
            &["-w", "/bin", "../bin/true"],
            &["-w", "/bin", "../../../bin/true"],
            // Not a directory: the guest starts in / (as PRoot's does).
            &["-w", "/bin/true", "../bin/true"],
        ] {
            let out = run(path, args);
            assert_success(&out, &format!("{path:?}: {}", args.join(" ")));
        }
    }
    // With a $PATH the name is found there.
    let out = run(Some("/usr/bin:/bin"), &["true"]);
    assert_success(&out, "true with a $PATH");
}

#[test]
fn a_command_that_is_a_directory_or_not_executable_says_so() {
    let r = tiny_rootfs();
    let out = r.run_timeout(&["/etc"], T);
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert_eq!(stderr_str(&out), "sproot error: /etc: is a directory\n");

    let p = r.write("/usr/bin/noexec", "#!/bin/sh\necho ran\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    let out = r.run_timeout(&["/usr/bin/noexec"], T);
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert_eq!(
        stderr_str(&out),
        "sproot error: /usr/bin/noexec: is not executable\n"
    );

    let out = r.run_timeout(&["/usr/bin/missing"], T);
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert_eq!(
        stderr_str(&out),
        "sproot error: /usr/bin/missing: does not exist in the guest\n"
    );
}

// ---- diagnostics ----

#[test]
fn verbose_1_shows_rootfs_bindings_cwd_command_and_loader() {
    let r = tiny_rootfs();
    let out = r.run_timeout(&["-v", "1", "-b", "/dev", "-w", "/etc", "/bin/true"], T);
    assert_success(&out, "-v 1");
    let err = stderr_str(&out);
    let root = fs::canonicalize(&r.path).unwrap();
    for line in [
        format!("sproot info: rootfs = {}", root.display()),
        "sproot info: binding = /dev -> /dev".to_string(),
        "sproot info: initial cwd = /etc".to_string(),
        "sproot info: command = /bin/true (argv: /bin/true)".to_string(),
    ] {
        assert!(err.lines().any(|l| l == line), "no {line:?} in\n{err}");
    }
    assert!(
        err.lines()
            .any(|l| l.starts_with("sproot info: loader = /")),
        "{err}"
    );
    // Nothing from the levels above.
    assert!(
        !err.contains("sproot debug:") && !err.contains("sproot trace:"),
        "{err}"
    );
}

#[test]
fn verbose_2_shows_path_translations_and_3_each_syscall_with_its_result() {
    let r = tiny_rootfs();
    let root = fs::canonicalize(&r.path).unwrap();
    let out = r.run_timeout(&["-v", "2", "/bin/cat", "/etc/sproot-guest"], T);
    assert_eq!(ok_out(&out, "-v 2"), GUEST_MARKER);
    let err = stderr_str(&out);
    let translated = format!(": /etc/sproot-guest -> {}/etc/sproot-guest", root.display());
    assert!(
        err.lines().any(|l| l.starts_with("sproot debug: ")
            && l.contains("openat")
            && l.ends_with(&translated)),
        "no translation line in\n{err}"
    );
    assert!(!err.contains("sproot trace:"), "{err}");

    let out = r.run_timeout(&["-v", "3", "/bin/cat", "/etc/sproot-guest"], T);
    assert_eq!(ok_out(&out, "-v 3"), GUEST_MARKER);
    let err = stderr_str(&out);
    assert!(
        err.lines()
            .any(|l| l.starts_with("sproot trace: ") && l.contains(" openat(0x")),
        "no syscall line in\n{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("sproot trace: ") && l.contains(" openat = 3")),
        "no result line in\n{err}"
    );
}

#[test]
fn version_names_commit_architecture_and_seccomp() {
    let out = run_timeout(&["-V"], 10);
    let text = ok_out(&out, "-V");
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "sproot {} (git commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(!first.contains("git commit )"), "{text}");
    assert_eq!(
        lines.next(),
        Some(format!("target: {}-linux", std::env::consts::ARCH).as_str())
    );
    let seccomp = lines.next().unwrap_or_default();
    // The kernel's own list of seccomp actions decides the answer.
    let avail = fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    if avail.split_whitespace().any(|a| a == "trace") {
        assert_eq!(
            seccomp,
            "seccomp acceleration: available (SECCOMP_RET_TRACE is supported)"
        );
    } else {
        assert!(seccomp.starts_with("seccomp acceleration: "), "{text}");
    }
}

// ---- where the exec loader comes from ----

/// `PROOT_LOADER` naming an installed copy of sproot's loader (as a
/// package installs it): guests start from that file and nothing is
/// extracted. Anything else there is not used: a warning, and the loader
/// is extracted to `PROOT_TMP_DIR` as without the variable.
#[test]
fn proot_loader_names_an_installed_loader_and_anything_else_is_refused() {
    let r = tiny_rootfs();
    let tmp = unique_temp_dir("cli-loader-tmp");
    let lib = unique_temp_dir("cli-loader-lib");
    let run = |loader: &std::path::Path| {
        let mut cmd = r.sproot_cmd(&["-v", "1", "/bin/echo", "ran"]);
        cmd.env("PROOT_TMP_DIR", &tmp).env("PROOT_LOADER", loader);
        output_with_timeout(cmd, Duration::from_secs(T), "sproot with PROOT_LOADER")
    };
    // First, the extracted one (then copied where a package would put it).
    let out = run(&lib.join("missing"));
    assert_eq!(stdout_str(&out), "ran\n", "{}", describe(&out));
    assert!(
        stderr_str(&out).contains("PROOT_LOADER"),
        "{}",
        describe(&out)
    );
    let extracted: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("sproot-loader-"))
        .collect();
    assert_eq!(extracted.len(), 1, "{extracted:?}");
    let installed = lib.join("loader");
    fs::copy(&extracted[0], &installed).unwrap();
    fs::remove_file(&extracted[0]).unwrap();
    // The in-process engine (SPROOT_ENGINE=inproc) extracted its runtime
    // too: installed next to the loader, as a package does.
    for p in fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().path()) {
        if p.to_string_lossy().contains("sproot-runtime-") {
            fs::copy(&p, lib.join("runtime")).unwrap();
            fs::remove_file(&p).unwrap();
        }
    }

    let out = run(&installed);
    assert_eq!(stdout_str(&out), "ran\n", "{}", describe(&out));
    let err = stderr_str(&out);
    assert!(
        err.contains(&format!("loader = {}", installed.display())),
        "{err}"
    );
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0, "nothing extracted");

    // Another program in its place (PRoot's loader, say): not used.
    let other = lib.join("other");
    fs::copy("/bin/true", &other).unwrap();
    let out = run(&other);
    assert_eq!(stdout_str(&out), "ran\n", "{}", describe(&out));
    let err = stderr_str(&out);
    assert!(err.contains("is not this sproot's exec loader"), "{err}");
    assert!(
        !err.contains(&format!("loader = {}", other.display())),
        "{err}"
    );
    remove_temp_dir(&tmp);
    remove_temp_dir(&lib);
}
