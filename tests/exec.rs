//! exec of guest programs, end to end: ELF flavours, shebang scripts, argv[0],
//! the auxiliary vector, `/proc/self/exe`, the guest's own dynamic linker, and
//! the errors the kernel would give.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

/// Timeout for one guest run, in seconds.
const T: u64 = 30;

fn sh(rootfs: &TinyRootfs, script: &str) -> Output {
    rootfs.run_timeout(&["/bin/sh", "-c", script], T)
}

#[track_caller]
fn ok_stdout(out: &Output, what: &str) -> String {
    assert_success(out, what);
    stdout_str(out)
}

/// Compiles `src` with `flags` and installs it in the guest at `guest`.
/// `None` when the host has no C compiler.
fn guest_c_program(r: &TinyRootfs, src: &str, flags: &[&str], guest: &str) -> Option<PathBuf> {
    let bin = compile_c(src, flags)?;
    r.install(&bin, guest);
    Some(bin)
}

/// Prints a greeting and the guest marker read through the guest's view.
const HELLO_C: &str = r#"
#include <stdio.h>
int main(void) {
    char buf[64] = {0};
    FILE *f = fopen("/etc/sproot-guest", "r");
    if (!f) { perror("fopen"); return 1; }
    if (!fgets(buf, sizeof buf, f)) return 1;
    printf("hello %s", buf);
    return 0;
}
"#;

#[test]
fn dynamic_elf_program_runs() {
    let r = tiny_rootfs();
    if guest_c_program(&r, HELLO_C, &[], "/usr/bin/hello-dyn").is_none() {
        return;
    }
    let out = r.run_timeout(&["/usr/bin/hello-dyn"], T);
    assert_eq!(ok_stdout(&out, "dynamic ELF"), "hello guest\n");
}

#[test]
fn static_elf_program_runs() {
    let r = tiny_rootfs();
    if guest_c_program(&r, HELLO_C, &["-static"], "/usr/bin/hello-static").is_none() {
        return;
    }
    let out = r.run_timeout(&["/usr/bin/hello-static"], T);
    assert_eq!(ok_stdout(&out, "static ELF"), "hello guest\n");
}

#[test]
fn static_pie_elf_program_runs() {
    let r = tiny_rootfs();
    if guest_c_program(&r, HELLO_C, &["-static-pie"], "/usr/bin/hello-spie").is_none() {
        return;
    }
    let out = r.run_timeout(&["/usr/bin/hello-spie"], T);
    assert_eq!(ok_stdout(&out, "static-pie ELF"), "hello guest\n");
}

#[test]
fn non_pie_dynamic_elf_program_runs() {
    let r = tiny_rootfs();
    if guest_c_program(&r, HELLO_C, &["-no-pie"], "/usr/bin/hello-nopie").is_none() {
        return;
    }
    let out = sh(&r, "/usr/bin/hello-nopie");
    assert_eq!(ok_stdout(&out, "non-PIE dynamic ELF"), "hello guest\n");
}

#[test]
fn guest_program_execed_by_a_guest_shell_runs() {
    let r = tiny_rootfs();
    if guest_c_program(&r, HELLO_C, &[], "/usr/bin/hello-dyn").is_none() {
        return;
    }
    let out = sh(&r, "/usr/bin/hello-dyn && /bin/hello-dyn");
    assert_eq!(
        ok_stdout(&out, "exec from sh"),
        "hello guest\nhello guest\n"
    );
}

#[test]
fn shebang_script_runs_with_the_guest_interpreter() {
    let r = tiny_rootfs();
    let p = r.write(
        "/usr/bin/script-plain",
        "#!/bin/sh\necho \"args=$*\"\ncat /etc/sproot-guest\n",
    );
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let out = r.run_timeout(&["/usr/bin/script-plain", "one", "two"], T);
    assert_eq!(
        ok_stdout(&out, "#!/bin/sh"),
        format!("args=one two\n{GUEST_MARKER}")
    );
}

#[test]
fn shebang_script_passes_the_interpreter_argument() {
    let r = tiny_rootfs();
    let p = r.write(
        "/usr/bin/script-e",
        "#!/bin/sh -e\necho before\nfalse\necho not-reached\n",
    );
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let out = sh(&r, "/usr/bin/script-e; echo status=$?");
    assert_eq!(ok_stdout(&out, "#!/bin/sh -e"), "before\nstatus=1\n");
}

#[test]
fn shebang_with_usr_bin_env_finds_the_guest_interpreter() {
    let r = tiny_rootfs();
    let p = r.write(
        "/usr/bin/script-env",
        "#!/usr/bin/env sh\necho \"via env $1\"\ncat /etc/sproot-guest\n",
    );
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = r.sproot_cmd(&["/usr/bin/script-env", "arg"]);
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "#!/usr/bin/env sh");
    assert_eq!(
        ok_stdout(&out, "#!/usr/bin/env sh"),
        format!("via env arg\n{GUEST_MARKER}")
    );
}

#[test]
fn shebang_script_sees_its_guest_path_as_dollar_zero() {
    let r = tiny_rootfs();
    let p = r.write("/usr/bin/script-zero", "#!/bin/sh\necho \"$0\"\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let out = sh(&r, "/usr/bin/script-zero; cd /usr && ./bin/script-zero");
    assert_eq!(
        ok_stdout(&out, "$0 of a script"),
        "/usr/bin/script-zero\n./bin/script-zero\n"
    );
}

const ARGV0_C: &str = r#"
#include <stdio.h>
int main(int argc, char **argv) {
    printf("argv0=%s argc=%d\n", argv[0], argc);
    return 0;
}
"#;

#[test]
fn argv0_is_preserved() {
    let r = tiny_rootfs();
    if guest_c_program(&r, ARGV0_C, &[], "/usr/bin/argv0").is_none() {
        return;
    }
    let out = sh(&r, "/usr/bin/argv0 a; cd /usr/bin && ./argv0 a b");
    assert_eq!(
        ok_stdout(&out, "argv[0]"),
        "argv0=/usr/bin/argv0 argc=2\nargv0=./argv0 argc=3\n"
    );
}

#[test]
fn argv0_set_by_exec_a_is_preserved() {
    let r = tiny_rootfs();
    if guest_c_program(&r, ARGV0_C, &[], "/usr/bin/argv0").is_none() {
        return;
    }
    let out = r.run_timeout(
        &["/bin/bash", "-c", "exec -a custom-name /usr/bin/argv0"],
        T,
    );
    assert_eq!(ok_stdout(&out, "exec -a"), "argv0=custom-name argc=1\n");
}

#[test]
fn argv0_of_a_static_program_is_preserved() {
    let r = tiny_rootfs();
    if guest_c_program(&r, ARGV0_C, &["-static"], "/usr/bin/argv0-static").is_none() {
        return;
    }
    let out = r.run_timeout(
        &["/bin/bash", "-c", "exec -a custom-static /bin/argv0-static"],
        T,
    );
    assert_eq!(
        ok_stdout(&out, "static argv[0]"),
        "argv0=custom-static argc=1\n"
    );
}

const EXECFN_C: &str = r#"
#include <stdio.h>
#include <sys/auxv.h>
int main(void) {
    const char *fn = (const char *)getauxval(AT_EXECFN);
    printf("execfn=%s\n", fn ? fn : "(null)");
    return 0;
}
"#;

#[test]
fn at_execfn_is_the_guest_path() {
    let r = tiny_rootfs();
    if guest_c_program(&r, EXECFN_C, &[], "/usr/bin/execfn").is_none() {
        return;
    }
    let out = sh(&r, "/usr/bin/execfn; /bin/execfn");
    assert_eq!(
        ok_stdout(&out, "AT_EXECFN"),
        "execfn=/usr/bin/execfn\nexecfn=/bin/execfn\n"
    );
}

const SELF_EXE_C: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) { perror("readlink"); return 1; }
    buf[n] = 0;
    printf("exe=%s\n", buf);
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0) { perror("open"); return 2; }
    long total = 0;
    unsigned char head[4] = {0};
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0) { perror("read"); return 3; }
        if (got == 0) break;
        if (total == 0 && got >= 4) { head[0] = buf[0]; head[1] = buf[1]; head[2] = buf[2]; head[3] = buf[3]; }
        total += got;
    }
    printf("size=%ld elf=%d\n", total, head[0] == 0x7f && head[1] == 'E');
    return 0;
}
"#;

#[test]
fn readlink_proc_self_exe_of_a_program_is_its_guest_path() {
    let r = tiny_rootfs();
    if guest_c_program(&r, SELF_EXE_C, &[], "/usr/bin/selfexe").is_none() {
        return;
    }
    let out = r.run_timeout(&["-b", "/proc", "/usr/bin/selfexe"], T);
    let text = ok_stdout(&out, "/proc/self/exe");
    assert_eq!(
        text.lines().next(),
        Some("exe=/usr/bin/selfexe"),
        "{}",
        describe(&out)
    );
}

#[test]
fn opening_proc_self_exe_reads_the_program_itself() {
    let r = tiny_rootfs();
    let Some(bin) = guest_c_program(&r, SELF_EXE_C, &[], "/usr/bin/selfexe") else {
        return;
    };
    let size = fs::metadata(&bin).unwrap().len();
    let out = r.run_timeout(&["-b", "/proc", "/usr/bin/selfexe"], T);
    let text = ok_stdout(&out, "open /proc/self/exe");
    assert_eq!(
        text.lines().nth(1),
        Some(format!("size={size} elf=1").as_str()),
        "{}",
        describe(&out)
    );
}

#[test]
fn readlink_proc_self_exe_of_a_static_program_is_its_guest_path() {
    let r = tiny_rootfs();
    let Some(bin) = guest_c_program(&r, SELF_EXE_C, &["-static"], "/usr/bin/selfexe-static") else {
        return;
    };
    let size = fs::metadata(&bin).unwrap().len();
    let out = r.run_timeout(&["-b", "/proc", "/usr/bin/selfexe-static"], T);
    assert_eq!(
        ok_stdout(&out, "static /proc/self/exe"),
        format!("exe=/usr/bin/selfexe-static\nsize={size} elf=1\n")
    );
}

#[test]
fn missing_program_run_by_sh_is_not_found_127() {
    let r = tiny_rootfs();
    let out = sh(&r, "/usr/bin/no-such-program");
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert!(stderr_str(&out).contains("not found"), "{}", describe(&out));
}

#[test]
fn program_present_only_on_the_host_is_not_found_in_the_guest() {
    let r = tiny_rootfs();
    // The host has gcc (or at least ldd); the tiny guest has neither.
    let host_only = ["/usr/bin/ldd", "/usr/bin/gcc"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("host has ldd");
    assert!(!r.host_path(host_only).exists());
    let out = sh(&r, host_only);
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
}

#[test]
fn non_executable_file_is_permission_denied_126() {
    let r = tiny_rootfs();
    let p = r.write("/usr/bin/not-exec", "#!/bin/sh\necho ran\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    let out = sh(&r, "/usr/bin/not-exec");
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert!(
        stderr_str(&out).contains("Permission denied"),
        "{}",
        describe(&out)
    );
    assert!(!stdout_str(&out).contains("ran"), "{}", describe(&out));
}

const EXECVE_ERRNO_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *args[] = { argv[1], NULL };
    char *env[] = { NULL };
    execve(argv[1], args, env);
    printf("errno=%d\n", errno);
    return 0;
}
"#;

/// A 32-bit little-endian i386 ELF executable: a valid ELF32 header, one
/// (empty) program header, padded to `len` bytes (at least 84).
fn elf32_file(len: usize) -> Vec<u8> {
    let mut h = vec![0u8; len.max(52)];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 1; // EI_CLASS: ELFCLASS32
    h[5] = 1; // EI_DATA: little endian
    h[6] = 1; // EI_VERSION
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    h[18..20].copy_from_slice(&3u16.to_le_bytes()); // e_machine: EM_386
    h[20..24].copy_from_slice(&1u32.to_le_bytes()); // e_version
    h[24..28].copy_from_slice(&0x0804_8000u32.to_le_bytes()); // e_entry
    h[40..42].copy_from_slice(&52u16.to_le_bytes()); // e_ehsize
    h[42..44].copy_from_slice(&32u16.to_le_bytes()); // e_phentsize
    if len >= 84 {
        h[28..32].copy_from_slice(&52u32.to_le_bytes()); // e_phoff
        h[44..46].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
    }
    h
}

/// Installs a 32-bit ELF of `len` bytes, executable, at `guest`.
fn install_elf32(r: &TinyRootfs, guest: &str, len: usize) {
    let p = r.host_path(guest);
    fs::write(&p, elf32_file(len)).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

#[track_caller]
fn assert_says_32_bit(out: &Output, guest: &str) {
    let err = stderr_str(out);
    assert!(
        err.contains(guest) && err.contains("32-bit"),
        "expected a message naming {guest} and saying it is a 32-bit ELF\n{}",
        describe(out)
    );
}

#[test]
fn execve_of_a_32_bit_elf_fails_with_enoexec() {
    let r = tiny_rootfs();
    if guest_c_program(&r, EXECVE_ERRNO_C, &[], "/usr/bin/try-exec").is_none() {
        return;
    }
    install_elf32(&r, "/usr/bin/prog32", 4096);
    let out = r.run_timeout(&["/usr/bin/try-exec", "/usr/bin/prog32"], T);
    assert_eq!(ok_stdout(&out, "exec 32-bit ELF"), "errno=8\n");
}

#[test]
fn execve_of_a_32_bit_elf_explains_why_on_stderr() {
    let r = tiny_rootfs();
    if guest_c_program(&r, EXECVE_ERRNO_C, &[], "/usr/bin/try-exec").is_none() {
        return;
    }
    install_elf32(&r, "/usr/bin/prog32", 4096);
    let out = r.run_timeout(&["/usr/bin/try-exec", "/usr/bin/prog32"], T);
    assert_says_32_bit(&out, "/usr/bin/prog32");
}

#[test]
fn a_bare_32_bit_elf_header_is_reported_as_32_bit() {
    // Only the 52-byte ELF32 header: its class, not its size, is the problem.
    let r = tiny_rootfs();
    install_elf32(&r, "/usr/bin/hdr32", 52);
    let out = sh(&r, "/usr/bin/hdr32");
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert_says_32_bit(&out, "/usr/bin/hdr32");
}

#[test]
fn top_level_32_bit_elf_exits_126_with_a_message() {
    let r = tiny_rootfs();
    install_elf32(&r, "/usr/bin/prog32", 4096);
    let out = r.run_timeout(&["/usr/bin/prog32"], T);
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert_says_32_bit(&out, "/usr/bin/prog32");
    assert!(!stderr_str(&out).contains("panicked"), "{}", describe(&out));
}

#[test]
fn execve_of_a_missing_program_fails_with_enoent() {
    let r = tiny_rootfs();
    if guest_c_program(&r, EXECVE_ERRNO_C, &[], "/usr/bin/try-exec").is_none() {
        return;
    }
    let out = r.run_timeout(&["/usr/bin/try-exec", "/usr/bin/no-such"], T);
    assert_eq!(ok_stdout(&out, "exec missing"), "errno=2\n");
}

#[test]
fn execve_of_a_non_executable_file_fails_with_eacces() {
    let r = tiny_rootfs();
    if guest_c_program(&r, EXECVE_ERRNO_C, &[], "/usr/bin/try-exec").is_none() {
        return;
    }
    r.write("/etc/plain", "not a program\n");
    let out = r.run_timeout(&["/usr/bin/try-exec", "/etc/plain"], T);
    assert_eq!(ok_stdout(&out, "exec non-executable"), "errno=13\n");
}

#[test]
fn guest_programs_use_the_rootfs_dynamic_linker_and_libc() {
    use std::os::unix::fs::MetadataExt;
    let r = tiny_rootfs();
    let out = r.run_timeout(&["-b", "/proc", "/bin/cat", "/proc/self/maps"], T);
    let maps = ok_stdout(&out, "cat /proc/self/maps");
    // (inode, guest path) of the mapped files: the paths are the guest's,
    // the inodes those of the rootfs's files.
    let files: Vec<(u64, &str)> = maps
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(4)?.parse().ok()?, *f.get(5)?))
        })
        .filter(|(_, p)| p.starts_with('/'))
        .collect();
    for (what, name) in [
        ("the dynamic linker", "ld-linux"),
        ("libc", "libc.so"),
        ("the program", "/cat"),
    ] {
        let mapped: Vec<&(u64, &str)> = files.iter().filter(|(_, p)| p.contains(name)).collect();
        assert!(
            !mapped.is_empty()
                && mapped.iter().all(|(ino, p)| {
                    fs::metadata(r.host_path(p)).is_ok_and(|m| m.ino() == *ino)
                }),
            "{what} must be the rootfs's ({})\n{maps}",
            r.root()
        );
    }
    assert!(
        !maps.contains(r.root()),
        "no host path in the guest's maps\n{maps}"
    );
}

#[test]
fn top_level_command_without_slash_is_found_in_the_guest_path() {
    let r = tiny_rootfs();
    let name = "sproot-guest-only-cmd";
    let p = r.write(
        &format!("/usr/bin/{name}"),
        "#!/bin/sh\necho only-in-guest\n",
    );
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = r.sproot_cmd(&[name]);
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot NAME");
    assert_eq!(ok_stdout(&out, "PATH lookup"), "only-in-guest\n");
}

#[test]
fn missing_top_level_command_exits_127_with_a_message() {
    let r = tiny_rootfs();
    let name = "sproot-no-such-command";
    let mut cmd = r.sproot_cmd(&[name]);
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot MISSING");
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert!(stderr_str(&out).contains(name), "{}", describe(&out));
    assert!(!stderr_str(&out).contains("panicked"), "{}", describe(&out));
}

#[test]
fn top_level_command_present_only_on_the_host_is_not_run() {
    let r = tiny_rootfs();
    // `ldd` exists on the host (tiny_rootfs needs it) but not in the guest.
    assert!(!r.host_path("/usr/bin/ldd").exists());
    let mut cmd = r.sproot_cmd(&["ldd", "--version"]);
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let out = output_with_timeout(cmd, Duration::from_secs(T), "sproot ldd");
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
}

#[test]
fn exec_storm_of_guest_programs_completes() {
    let r = tiny_rootfs();
    let out = r.run_timeout(
        &[
            "/bin/sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do /bin/true || exit 1; i=$((i+1)); done; echo $i",
        ],
        60,
    );
    assert_eq!(ok_stdout(&out, "exec storm"), "200\n");
}

#[test]
fn symlinked_program_runs_with_the_symlink_as_argv0() {
    let r = tiny_rootfs();
    if guest_c_program(&r, ARGV0_C, &[], "/usr/bin/argv0").is_none() {
        return;
    }
    symlink("/usr/bin/argv0", r.host_path("/usr/bin/alias0")).unwrap();
    let out = sh(&r, "/usr/bin/alias0");
    assert_eq!(
        ok_stdout(&out, "symlinked program"),
        "argv0=/usr/bin/alias0 argc=1\n"
    );
}

/// The kernel names a process after the file it executes, which is the
/// loader; the loader renames it after the guest program, so `ps` and
/// /proc/<pid>/comm show `cat`, not `sproot-loader-…`.
#[test]
fn a_guest_process_is_named_after_its_program_not_the_loader() {
    let r = tiny_rootfs();
    r.write("/usr/bin/my-script", "#!/bin/sh\ncat /proc/$$/comm\n");
    let mut perms = fs::metadata(r.host_path("/usr/bin/my-script"))
        .unwrap()
        .permissions();
    perms.set_mode(0o755);
    fs::set_permissions(r.host_path("/usr/bin/my-script"), perms).unwrap();
    let out = r.run_timeout(
        &[
            "-b",
            "/proc",
            "/bin/sh",
            "-c",
            "cat /proc/self/comm; /usr/bin/my-script",
        ],
        T,
    );
    assert_eq!(
        ok_stdout(&out, "comm of guest processes"),
        "cat\nmy-script\n"
    );
}

/// `script` under `/bin/sh` in a real chroot of `r` (`None` without root).
fn sh_in_chroot(r: &TinyRootfs, script: &str) -> Option<Output> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("chroot comparison skipped: needs root");
        return None;
    }
    let mut c = std::process::Command::new("chroot");
    c.args([r.root(), "/bin/sh", "-c", script]);
    Some(output_with_timeout(c, Duration::from_secs(T), "chroot sh"))
}

/// Executable `#!` scripts in the guest's `/s`, each `(name, text)`.
fn install_scripts(r: &TinyRootfs, scripts: &[(String, String)]) {
    fs::create_dir_all(r.host_path("/s")).unwrap();
    for (name, text) in scripts {
        let p = r.write(&format!("/s/{name}"), text);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn shebang_edge_cases_are_answered_as_the_kernel_answers_them() {
    let r = tiny_rootfs();
    let mut scripts: Vec<(String, String)> = vec![
        ("self".into(), "#!/s/self\necho self\n".into()),
        ("ping".into(), "#!/s/pong\n".into()),
        ("pong".into(), "#!/s/ping\n".into()),
        // Many `..`, climbing past `/`, in an interpreter path.
        (
            "ups".into(),
            format!("#!/s/{}bin/echo up\n", "../".repeat(60)),
        ),
        ("dotdots".into(), format!("#!{}/bin/echo", "/..".repeat(80))),
        // Five scripts, each the interpreter of the one before (c1 to c5),
        // run; six (c0 to c5) do not.
        ("c5".into(), "#!/bin/echo five\n".into()),
        ("c0".into(), "#!/s/c1\n".into()),
    ];
    for i in 1..5 {
        scripts.push((format!("c{i}"), format!("#!/s/c{}\n", i + 1)));
    }
    // Lines around the 256 bytes the kernel reads (Linux 5.1: a line
    // without its newline in them still runs when the name is complete).
    for len in [253, 254, 255, 256, 257, 300] {
        let head = "#!/bin/echo ";
        let line = format!("{head}{}", "x".repeat(len - head.len()));
        scripts.push((format!("long{len}"), format!("{line}\necho no\n")));
    }
    let long_name = format!("#!/{}bin/echo a\n", "./".repeat(140));
    scripts.push(("longname".into(), long_name));
    install_scripts(&r, &scripts);
    let script = "cd /s; for f in self ping ups dotdots c1 c0 long253 long254 long255 \
                  long256 long257 long300 longname; do \
                  echo \"== $f\"; ./$f 2>&1 | sed 's/^[^:]*: [0-9]*: //'; done";
    let got = sh(&r, script);
    let ours = ok_stdout(&got, "shebang edge cases under sproot");
    assert!(
        ours.contains("== self\n./self: Too many levels of symbolic links\n"),
        "{ours}"
    );
    assert!(
        ours.contains("== c1\nfive /s/c5 /s/c4 /s/c3 /s/c2 ./c1\n")
            && ours.contains("== c0\n./c0: Too many levels of symbolic links\n"),
        "{ours}"
    );
    if let Some(native) = sh_in_chroot(&r, script) {
        assert_eq!(
            ours,
            ok_stdout(&native, "shebang edge cases in a chroot"),
            "sproot (left) and chroot (right) differ"
        );
    }
    // The first command itself: the C library's words, as a shell says.
    let first = r.run_timeout(&["/s/self"], T);
    assert_eq!(first.status.code(), Some(126), "{}", describe(&first));
    assert!(
        stderr_str(&first).contains("Too many levels of symbolic links"),
        "{}",
        describe(&first)
    );
}
