//! End-to-end tests of the exec loader without the real tracer: a tiny
//! ptrace harness runs the loader, hands it the load script at the exec
//! stop, detaches and checks what the guest program did.

use std::ffi::{CString, OsStr};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::uio::{RemoteIoVec, process_vm_writev};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use sproot::exec::{ExecFile, ExecHost, ExecPlan, install_loader, open_exec, plan_exec};

/// rootfs "/": guest paths are host paths.
struct HostResolver;

impl ExecHost for HostResolver {
    fn open_exec(&self, host: &[u8]) -> Result<Box<dyn ExecFile + '_>, sproot_core::Errno> {
        Ok(open_exec(Path::new(std::ffi::OsStr::from_bytes(host)))?)
    }

    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, Vec<u8>), sproot_core::Errno> {
        let canon = std::fs::canonicalize(OsStr::from_bytes(guest_path))
            .map_err(|e| e.raw_os_error().map_or(Errno::EIO, Errno::from_raw))?;
        let canon = canon.into_os_string().into_vec();
        Ok((canon.clone(), canon))
    }
}

fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loader-tests");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Installed once: tests run in parallel threads, and a file being written
/// while another thread forks could make that child's execve fail with
/// ETXTBSY.
fn loader() -> PathBuf {
    static LOADER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    LOADER
        .get_or_init(|| install_loader(&scratch()).expect("install loader"))
        .clone()
}

fn cstrings(v: &[Vec<u8>]) -> Vec<CString> {
    v.iter()
        .map(|s| CString::new(s.clone()).expect("no NUL in test strings"))
        .collect()
}

struct Outcome {
    status: i32,
    stdout: String,
}

/// Runs `plan` through the loader under a minimal ptrace harness.
fn run(plan: &ExecPlan) -> Outcome {
    let loader = CString::new(loader().as_os_str().as_bytes()).unwrap();
    let argv = cstrings(&plan.argv);
    let env = cstrings(&[b"PATH=/usr/bin:/bin".to_vec(), b"LC_ALL=C".to_vec()]);
    let argv_ptrs: Vec<*const libc::c_char> = argv
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let env_ptrs: Vec<*const libc::c_char> = env
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let (rd, wr): (OwnedFd, OwnedFd) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");

    // SAFETY: the child only calls async-signal-safe functions (dup2,
    // ptrace, raise, execve, nanosleep, _exit) on memory prepared before the
    // fork.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => unsafe {
            // SAFETY: raw libc calls on valid, pre-built arguments.
            libc::dup2(wr.as_raw_fd(), 1);
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::raise(libc::SIGSTOP);
            // ETXTBSY: while the loader was being written, another test
            // thread may have forked a child (to spawn a compiler, say) that
            // still holds the write descriptor until its own exec. Wait
            // for it to let go.
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
            };
            for _ in 0..500 {
                libc::execve(loader.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr());
                if *libc::__errno_location() != libc::ETXTBSY {
                    break;
                }
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
            libc::_exit(126);
        },
        ForkResult::Parent { child } => child,
    };
    drop(wr);

    let status = trace(child, plan);
    let mut out = Vec::new();
    std::fs::File::from(rd)
        .read_to_end(&mut out)
        .expect("read child stdout");
    Outcome {
        status,
        stdout: String::from_utf8_lossy(&out).into_owned(),
    }
}

/// Drives the child to its exec stop, installs the script, detaches and
/// returns its exit status (128 + signal if killed).
fn trace(child: Pid, plan: &ExecPlan) -> i32 {
    match waitpid(child, None).expect("wait for SIGSTOP") {
        WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
        other => panic!("unexpected first stop: {other:?}"),
    }
    ptrace::setoptions(
        child,
        ptrace::Options::PTRACE_O_TRACEEXEC | ptrace::Options::PTRACE_O_EXITKILL,
    )
    .expect("setoptions");
    ptrace::cont(child, None).expect("cont");
    match waitpid(child, None).expect("wait for exec") {
        WaitStatus::PtraceEvent(_, Signal::SIGTRAP, e) if e == libc::PTRACE_EVENT_EXEC => {}
        WaitStatus::Exited(_, code) => panic!("child exited before exec: {code}"),
        other => panic!("unexpected stop before exec: {other:?}"),
    }

    let mut regs = sproot::ptrace::get_regs(child).expect("getregs");
    let script = plan.script(regs.sp());
    let at = (regs.sp() - 128 - script.len() as u64) & !15;
    let local = [std::io::IoSlice::new(&script)];
    let remote = [RemoteIoVec {
        base: at as usize,
        len: script.len(),
    }];
    let n = process_vm_writev(child, &local, &remote).expect("write script");
    assert_eq!(n, script.len());
    regs.set_sp(at);
    sproot::ptrace::set_regs(child, &regs).expect("setregs");
    ptrace::detach(child, None).expect("detach");

    match waitpid(child, None).expect("wait for exit") {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        other => panic!("unexpected final status: {other:?}"),
    }
}

fn args(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn run_path(path: &[u8], argv: &[&str]) -> Outcome {
    let plan = plan_exec(&HostResolver, path, args(argv)).expect("plan_exec");
    run(&plan)
}

#[test]
fn echo_hello() {
    let out = run_path(b"/bin/echo", &["echo", "hello"]);
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.status, 0);
}

#[test]
fn exit_status_passes_through() {
    assert_eq!(run_path(b"/bin/false", &["false"]).status, 1);
    assert_eq!(run_path(b"/bin/true", &["true"]).status, 0);
}

#[test]
fn dynamic_program_keeps_argv0() {
    // Bash reports its own argv[0] in $0 for `-c`.
    let out = run_path(
        b"/bin/sh",
        &["my-custom-argv0", "-c", "echo \"$0\"; exit 7", "ignored"],
    );
    assert_eq!(out.stdout, "ignored\n");
    assert_eq!(out.status, 7);
    let out = run_path(b"/bin/sh", &["my-custom-argv0", "-c", "echo \"$0\""]);
    assert_eq!(out.stdout, "my-custom-argv0\n");
}

#[test]
fn shebang_script_runs() {
    let dir = scratch();
    let script = dir.join("hello.sh");
    std::fs::write(&script, b"#!/bin/sh -e\necho \"script $0 $1\"\nexit 5\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = script.as_os_str().as_bytes();
    let plan = plan_exec(&HostResolver, path, args(&["hello.sh", "arg1"])).unwrap();
    assert!(plan.argv_changed);
    let out = run(&plan);
    assert_eq!(out.stdout, format!("script {} arg1\n", script.display()));
    assert_eq!(out.status, 5);
}

/// Prints what the program sees of argv and auxv, exits with argv[1].
const PROBE_C: &str = r#"
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

extern char _start[];
extern const ElfW(Ehdr) __ehdr_start;
static __thread int tls_probe = 42;

int main(int argc, char **argv) {
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    const char *phdr = (const char *)&__ehdr_start + __ehdr_start.e_phoff;
    printf("argv0=%s\n", argv[0]);
    printf("execfn=%s\n", execfn ? execfn : "(null)");
    printf("entry_ok=%d\n", getauxval(AT_ENTRY) == (unsigned long)_start);
    printf("phdr_ok=%d\n", getauxval(AT_PHDR) == (unsigned long)phdr);
    printf("phnum_ok=%d\n", getauxval(AT_PHNUM) == __ehdr_start.e_phnum);
    printf("phent=%lu\n", getauxval(AT_PHENT));
    printf("base_set=%d\n", getauxval(AT_BASE) != 0);
    printf("tls=%d\n", tls_probe);
    char *heap = malloc(1 << 20);
    memset(heap, 1, 1 << 20);
    printf("malloc_ok=%d\n", heap != NULL);
    fflush(stdout);
    return argc > 1 ? atoi(argv[1]) : 0;
}
"#;

/// Compiles the probe with extra gcc flags; None (with a note) if gcc or
/// the needed libc flavour is missing.
fn compile_probe(name: &str, flags: &[&str]) -> Option<PathBuf> {
    let dir = scratch();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, PROBE_C).ok()?;
    let out = dir.join(name);
    let result = Command::new("gcc")
        .args(flags)
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output();
    match result {
        Ok(o) if o.status.success() => Some(out),
        Ok(o) => {
            eprintln!(
                "note: skipping {name}: gcc {flags:?} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("note: skipping {name}: cannot run gcc: {e}");
            None
        }
    }
}

fn check_probe(path: &Path, dynamic: bool) {
    let bytes = path.as_os_str().as_bytes();
    let plan = plan_exec(&HostResolver, bytes, args(&["probe-argv0", "9"])).unwrap();
    assert_eq!(plan.interp.is_some(), dynamic);
    let out = run(&plan);
    let want = format!(
        "argv0=probe-argv0\nexecfn={}\nentry_ok=1\nphdr_ok=1\nphnum_ok=1\nphent=56\n\
         base_set={}\ntls=42\nmalloc_ok=1\n",
        path.display(),
        u8::from(dynamic)
    );
    assert_eq!(out.stdout, want);
    assert_eq!(out.status, 9);
}

#[test]
fn dynamic_pie_probe() {
    if let Some(p) = compile_probe("probe-pie", &["-pie", "-fPIE"]) {
        check_probe(&p, true);
    }
}

#[test]
fn dynamic_non_pie_probe() {
    if let Some(p) = compile_probe("probe-nopie", &["-no-pie"]) {
        check_probe(&p, true);
    }
}

#[test]
fn static_probe() {
    if let Some(p) = compile_probe("probe-static", &["-static"]) {
        check_probe(&p, false);
    }
}

#[test]
fn static_pie_probe() {
    if let Some(p) = compile_probe("probe-static-pie", &["-static-pie"]) {
        check_probe(&p, false);
    }
}

#[test]
fn relative_execfn_is_preserved() {
    let Some(p) = compile_probe("probe-rel", &["-pie", "-fPIE"]) else {
        return;
    };
    // Relative to the test's cwd (the crate root).
    let cwd = std::env::current_dir().unwrap();
    let Ok(rel) = p.strip_prefix(&cwd) else {
        eprintln!("note: skipping: target dir is not under the cwd");
        return;
    };
    let rel = format!("./{}", rel.display());
    let plan = plan_exec(&HostResolver, rel.as_bytes(), args(&["p", "0"])).unwrap();
    let out = run(&plan);
    assert!(
        out.stdout.contains(&format!("execfn={rel}\n")),
        "{}",
        out.stdout
    );
    assert_eq!(out.status, 0);
}

#[test]
fn missing_host_file_fails_cleanly() {
    let mut plan = plan_exec(&HostResolver, b"/bin/true", args(&["true"])).unwrap();
    plan.program.host_path = scratch().join("does-not-exist").into_os_string().into_vec();
    let out = run(&plan);
    assert_eq!(out.status, 127);
}

#[test]
fn interpreter_run_as_program() {
    // ld.so is ET_DYN without PT_INTERP: loaded alone, it then loads echo.
    let out = run_path(
        b"/lib64/ld-linux-x86-64.so.2",
        &["ld.so", "/bin/echo", "via", "ld.so"],
    );
    assert_eq!(out.stdout, "via ld.so\n");
    assert_eq!(out.status, 0);
}

#[test]
fn big_dynamic_programs() {
    for (path, argv, want) in [
        (
            "/usr/bin/python3",
            &[
                "python3",
                "-c",
                "import sys, json; print(json.dumps(sys.argv[1:]))",
                "a",
            ][..],
            "[\"a\"]\n",
        ),
        (
            "/usr/bin/perl",
            &[
                "perl",
                "-e",
                "print join(',', map { $_ * 2 } 1..3), qq(\\n)",
            ][..],
            "2,4,6\n",
        ),
    ] {
        if !Path::new(path).exists() {
            eprintln!("note: skipping {path}: not installed");
            continue;
        }
        let out = run_path(path.as_bytes(), argv);
        assert_eq!(out.stdout, want, "{path}");
        assert_eq!(out.status, 0, "{path}");
    }
}
