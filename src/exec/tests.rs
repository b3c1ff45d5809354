use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::errno::Errno;

use super::*;
use sproot_core::Errno as CErrno;

/// How a test resolves guest paths (and its `-q` runner).
trait TestResolve {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno>;
    fn runner(&self) -> Option<&Runner> {
        None
    }
}

/// A test's resolver as the planner's host: files opened as the backend
/// opens them.
struct Via<'a, T>(&'a T);

impl<T: TestResolve> ExecHost for Via<'_, T> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, Vec<u8>), sproot_core::Errno> {
        let (g, h) = self.0.resolve(guest_path)?;
        Ok((g, bytes(&h)))
    }
    fn open_exec(&self, host: &[u8]) -> Result<Box<dyn ExecFile + '_>, sproot_core::Errno> {
        Ok(open_exec(Path::new(std::ffi::OsStr::from_bytes(host)))?)
    }
    fn runs_foreign(&self, head: &[u8]) -> bool {
        self.0.runner().is_some_and(|q| q.runs(head))
    }
    fn plan_foreign(
        &self,
        guest: Vec<u8>,
        host: Vec<u8>,
        execfn: &[u8],
        argv: Vec<Vec<u8>>,
    ) -> Result<ExecPlan, ExecError> {
        super::plan_foreign(self.0.runner(), guest, host, execfn, argv)
    }
}

/// The planner, with a test's resolver.
fn plan_exec(
    r: &impl TestResolve,
    filename: &[u8],
    argv: Vec<Vec<u8>>,
) -> Result<ExecPlan, ExecError> {
    super::plan_exec(&Via(r), filename, argv)
}

fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Guest == host, relative paths against the test's cwd.
struct HostResolver;

impl TestResolve for HostResolver {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        let p = Path::new(std::ffi::OsStr::from_bytes(guest_path));
        let canon = std::fs::canonicalize(p).map_err(|e| io_errno(&e))?;
        Ok((canon.as_os_str().as_bytes().to_vec(), canon))
    }
}

/// Guest paths are absolute paths under `root` on the host.
struct RootResolver {
    root: PathBuf,
}

impl TestResolve for RootResolver {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        if guest_path.first() != Some(&b'/') {
            return Err(Errno::ENOENT);
        }
        let host = self
            .root
            .join(std::ffi::OsStr::from_bytes(&guest_path[1..]));
        let canon = std::fs::canonicalize(host).map_err(|e| io_errno(&e))?;
        Ok((guest_path.to_vec(), canon))
    }
}

/// A fresh scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("sproot-exec-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, content: &[u8], mode: u32) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn resolver(&self) -> RootResolver {
        RootResolver {
            root: self.0.clone(),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn args(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn host_ls() -> &'static [u8] {
    b"/bin/ls"
}

#[test]
fn host_ls_is_dynamic_with_interp() {
    let plan = plan_exec(&HostResolver, host_ls(), args(&["ls", "-l"])).unwrap();
    assert_eq!(plan.argv, args(&["ls", "-l"]));
    assert!(!plan.argv_changed);
    assert_eq!(plan.execfn, b"/bin/ls");
    assert!(plan.exe_guest.ends_with(b"/ls"));
    let p = &plan.program;
    assert!(p.entry != 0);
    assert!(p.phnum > 0);
    assert!(p.phdr_vaddr != 0);
    assert!(!p.segments.is_empty());
    assert!(
        p.segments.iter().any(|s| s.prot & 4 != 0),
        "no exec segment"
    );
    for s in &p.segments {
        assert!(s.filesz <= s.memsz);
        assert_eq!(s.vaddr % 4096, s.offset % 4096);
    }
    let interp = plan.interp.as_ref().expect("ls has PT_INTERP");
    // HostResolver canonicalises, so this is ld.so's real path.
    assert!(show(&interp.guest_path).contains("ld-linux"));
    assert_eq!(interp.host_path, bytes(&ls_interp().1));
    assert!(interp.is_dyn);
    assert!(interp.entry != 0);
}

#[test]
fn relative_path_keeps_execfn() {
    let cwd = std::env::current_dir().unwrap();
    let rel = pathdiff_to_root(&cwd);
    let plan = plan_exec(&HostResolver, rel.as_bytes(), args(&["x"])).unwrap();
    assert_eq!(plan.execfn, rel.as_bytes());
    assert!(plan.interp.is_some());
}

/// "../../bin/ls" style path from `cwd` to /bin/ls.
fn pathdiff_to_root(cwd: &Path) -> String {
    let depth = cwd.components().count() - 1;
    let mut s = "../".repeat(depth);
    s.push_str("bin/ls");
    s
}

fn compile_c(dir: &Path, name: &str, flags: &[&str]) -> Option<PathBuf> {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, b"int main(void) { return 3; }\n").ok()?;
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .ok()?;
    if !status.status.success() {
        return None;
    }
    Some(out)
}

#[test]
fn static_binaries() {
    let dir = Scratch::new("static");
    let Some(st) = compile_c(&dir.0, "st", &["-static", "-no-pie"]) else {
        eprintln!("note: skipping static_binaries: gcc or static libc missing");
        return;
    };
    let plan = plan_exec(&HostResolver, st.as_os_str().as_bytes(), args(&["st"])).unwrap();
    assert!(plan.interp.is_none());
    assert!(!plan.program.is_dyn);
    assert!(plan.program.entry >= 0x400000);
    assert!(plan.program.phdr_vaddr != 0);

    if let Some(sp) = compile_c(&dir.0, "sp", &["-static-pie"]) {
        let plan = plan_exec(&HostResolver, sp.as_os_str().as_bytes(), args(&["sp"])).unwrap();
        assert!(plan.interp.is_none());
        assert!(plan.program.is_dyn);
    } else {
        eprintln!("note: skipping static-pie part: gcc -static-pie failed");
    }
}

/// /bin/ls's PT_INTERP as written in the file, and its host path.
fn ls_interp() -> (Vec<u8>, PathBuf) {
    let f = File::open("/bin/ls").unwrap();
    let head = elf::read_upto(&HostExecFile(f.try_clone().unwrap()), 0, 64).unwrap();
    let raw = elf::parse(&HostExecFile(f), &head).unwrap().interp.unwrap();
    let host = std::fs::canonicalize(std::ffi::OsStr::from_bytes(&raw)).unwrap();
    (raw, host)
}

/// Makes the host's /bin/ls (and its ELF interpreter, at the same guest
/// path as on the host) available in the scratch root as `guest`.
fn bin_ls_into(dir: &Scratch, guest: &str) {
    let link = |guest: &[u8], target: &Path| {
        let p = dir.0.join(std::ffi::OsStr::from_bytes(&guest[1..]));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        if !p.exists() {
            std::os::unix::fs::symlink(target, &p).unwrap();
        }
    };
    let (raw_interp, interp_host) = ls_interp();
    link(&raw_interp, &interp_host);
    link(guest.as_bytes(), Path::new("/bin/ls"));
}

#[test]
fn shebang_without_argument() {
    let dir = Scratch::new("sb1");
    bin_ls_into(&dir, "/bin/sh");
    dir.file("s.sh", b"#!/bin/sh\necho hi\n", 0o755);
    let plan = plan_exec(&dir.resolver(), b"/s.sh", args(&["s.sh", "a", "b"])).unwrap();
    assert_eq!(plan.argv, args(&["/bin/sh", "/s.sh", "a", "b"]));
    assert!(plan.argv_changed);
    assert_eq!(plan.exe_guest, b"/bin/sh");
    assert_eq!(plan.execfn, b"/s.sh");
    assert!(plan.exe_host.starts_with(b"/"));
}

#[test]
fn shebang_with_argument() {
    let dir = Scratch::new("sb2");
    bin_ls_into(&dir, "/bin/bash");
    dir.file("s", b"#! /bin/bash  -e -x \t\n", 0o755);
    let plan = plan_exec(&dir.resolver(), b"/s", args(&["zero", "one"])).unwrap();
    assert_eq!(plan.argv, args(&["/bin/bash", "-e -x", "/s", "one"]));
}

#[test]
fn shebang_env_python() {
    let dir = Scratch::new("sb3");
    bin_ls_into(&dir, "/usr/bin/env");
    dir.file("app.py", b"#!/usr/bin/env python3\nprint(1)\n", 0o755);
    let plan = plan_exec(&dir.resolver(), b"/app.py", args(&["app.py", "--v"])).unwrap();
    assert_eq!(
        plan.argv,
        args(&["/usr/bin/env", "python3", "/app.py", "--v"])
    );
    assert_eq!(plan.exe_guest, b"/usr/bin/env");
    // The ELF interpreter is looked up in the guest root.
    let interp = plan.interp.unwrap();
    assert!(Path::new(std::ffi::OsStr::from_bytes(&interp.host_path)).exists());
    assert_eq!(interp.guest_path, ls_interp().0);

    // Without the guest's ld.so, the exec fails like the kernel's would.
    let ld = dir
        .0
        .join(std::ffi::OsStr::from_bytes(&interp.guest_path[1..]));
    std::fs::remove_file(ld).unwrap();
    let e = plan_exec(&dir.resolver(), b"/app.py", args(&["app.py"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOENT);
}

#[test]
fn shebang_missing_interpreter() {
    let dir = Scratch::new("sb4");
    dir.file("s", b"#!/nope\n", 0o755);
    let e = plan_exec(&dir.resolver(), b"/s", args(&["s"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOENT);
    dir.file("e", b"#!\n", 0o755);
    let e = plan_exec(&dir.resolver(), b"/e", args(&["e"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOEXEC);
}

#[test]
fn shebang_recursion_limit() {
    let dir = Scratch::new("loop");
    bin_ls_into(&dir, "/bin/real");
    // s0 -> s1 -> ... -> s{n-1} -> /bin/real
    let chain = |n: usize| {
        for i in 0..n {
            let next = if i + 1 == n {
                "/bin/real".to_string()
            } else {
                format!("/s{}", i + 1)
            };
            dir.file(&format!("s{i}"), format!("#!{next}\n").as_bytes(), 0o755);
        }
    };
    chain(MAX_SHEBANG_DEPTH);
    let plan = plan_exec(&dir.resolver(), b"/s0", args(&["s0", "x"])).unwrap();
    assert_eq!(plan.exe_guest, b"/bin/real");
    assert_eq!(plan.argv.len(), MAX_SHEBANG_DEPTH + 2);
    assert_eq!(plan.argv[0], b"/bin/real");
    assert_eq!(plan.argv.last().unwrap(), b"x");

    chain(MAX_SHEBANG_DEPTH + 1);
    let e = plan_exec(&dir.resolver(), b"/s0", args(&["s0"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ELOOP);

    dir.file("self", b"#!/self\n", 0o755);
    let e = plan_exec(&dir.resolver(), b"/self", args(&["self"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ELOOP);
}

#[test]
fn permissions_and_file_types() {
    let dir = Scratch::new("perm");
    dir.file("noexec", b"#!/bin/sh\n", 0o644);
    let e = plan_exec(&dir.resolver(), b"/noexec", args(&["x"])).unwrap_err();
    assert_eq!(e.errno, CErrno::EACCES);
    std::fs::create_dir(dir.0.join("d")).unwrap();
    let e = plan_exec(&dir.resolver(), b"/d", args(&["x"])).unwrap_err();
    assert_eq!(e.errno, CErrno::EACCES);
    let e = plan_exec(&dir.resolver(), b"/missing", args(&["x"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOENT);
    let e = plan_exec(&dir.resolver(), b"", args(&["x"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOENT);
}

/// A minimal valid-looking ELF64 header with one PT_LOAD.
fn synth_elf(class: u8, data: u8, machine: u16, e_type: u16) -> Vec<u8> {
    let mut b = vec![0u8; 64 + 56];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = class;
    b[5] = data;
    b[6] = 1;
    b[16..18].copy_from_slice(&e_type.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[24..32].copy_from_slice(&0x401000u64.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&1u16.to_le_bytes());
    let ph = &mut b[64..];
    ph[0..4].copy_from_slice(&1u32.to_le_bytes());
    ph[4..8].copy_from_slice(&5u32.to_le_bytes());
    ph[16..24].copy_from_slice(&0x400000u64.to_le_bytes());
    ph[32..40].copy_from_slice(&120u64.to_le_bytes());
    ph[40..48].copy_from_slice(&120u64.to_le_bytes());
    b
}

#[test]
fn synthetic_elf_headers() {
    let dir = Scratch::new("synth");
    let m = elf::EM_NATIVE;
    let ok = synth_elf(2, 1, m, 2);
    dir.file("ok", &ok, 0o755);
    let plan = plan_exec(&dir.resolver(), b"/ok", args(&["ok"])).unwrap();
    assert!(!plan.program.is_dyn);
    assert_eq!(plan.program.entry, 0x401000);
    // No PT_PHDR: computed from the PT_LOAD that holds e_phoff.
    assert_eq!(plan.program.phdr_vaddr, 0x400040);
    assert_eq!(
        plan.program.segments,
        vec![Segment {
            vaddr: 0x400000,
            memsz: 120,
            filesz: 120,
            offset: 0,
            prot: 5
        }]
    );

    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "e32",
            synth_elf(1, 1, 3, 2),
            "32-bit ELF is not supported yet",
        ),
        ("ebe", synth_elf(2, 2, m, 2), "big-endian"),
        ("earm", synth_elf(2, 1, 40, 2), "another architecture"),
        ("erel", synth_elf(2, 1, m, 1), "not an executable"),
    ];
    for (name, bytes, why) in cases {
        dir.file(name, bytes, 0o755);
        let guest = format!("/{name}");
        let e = plan_exec(&dir.resolver(), guest.as_bytes(), args(&["x"])).unwrap_err();
        assert_eq!(e.errno, CErrno::ENOEXEC, "{name}");
        let msg = e.message.unwrap_or_default();
        assert!(msg.contains(why), "{name}: {msg}");
        assert!(msg.starts_with(&format!("sproot: {guest}: ")), "{msg}");
    }
}

#[test]
fn garbage_and_truncated_files() {
    let dir = Scratch::new("garbage");
    dir.file("txt", b"hello world\n", 0o755);
    dir.file("empty", b"", 0o755);
    dir.file("short", b"\x7fEL", 0o755);
    for name in ["/txt", "/empty", "/short"] {
        let e = plan_exec(&dir.resolver(), name.as_bytes(), args(&["x"])).unwrap_err();
        assert_eq!(e.errno, CErrno::ENOEXEC, "{name}");
    }

    // Every truncation of a real binary's headers fails cleanly.
    let ls = std::fs::read("/bin/ls").unwrap();
    for len in [4, 16, 63, 64, 100, 200, 500, 1000] {
        dir.file("trunc", &ls[..len.min(ls.len())], 0o755);
        match plan_exec(&HostResolverIn(&dir.0), b"trunc", args(&["x"])) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.errno, CErrno::ENOEXEC, "len {len}"),
        }
    }

    // Random corruption of the first KiB never panics.
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let head = &ls[..4096.min(ls.len())];
    for _ in 0..300 {
        let mut bytes = head.to_vec();
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % 1024.min(bytes.len());
            bytes[i] = next() as u8;
        }
        dir.file("fuzz", &bytes, 0o755);
        let _ = plan_exec(&HostResolverIn(&dir.0), b"fuzz", args(&["x"]));
    }
}

/// Resolves relative names inside `dir`, absolute ones on the host.
struct HostResolverIn<'a>(&'a Path);

impl TestResolve for HostResolverIn<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        let p = self.0.join(std::ffi::OsStr::from_bytes(guest_path));
        let canon = std::fs::canonicalize(p).map_err(|e| io_errno(&e))?;
        Ok((canon.as_os_str().as_bytes().to_vec(), canon))
    }
}

#[test]
fn bad_interpreter_is_elibbad() {
    let dir = Scratch::new("badinterp");
    let mut prog = synth_elf(2, 1, elf::EM_NATIVE, 3);
    // Turn the single header into PT_INTERP + PT_LOAD.
    let interp = b"/ld.so\0";
    let mut b = vec![0u8; 64 + 2 * 56];
    b[..64].copy_from_slice(&prog[..64]);
    b[56..58].copy_from_slice(&2u16.to_le_bytes());
    let mut ph_interp = [0u8; 56];
    ph_interp[0..4].copy_from_slice(&3u32.to_le_bytes());
    ph_interp[8..16].copy_from_slice(&(b.len() as u64).to_le_bytes());
    ph_interp[32..40].copy_from_slice(&(interp.len() as u64).to_le_bytes());
    b[64..120].copy_from_slice(&ph_interp);
    b[120..176].copy_from_slice(&prog[64..120]);
    b.extend_from_slice(interp);
    prog = b;
    dir.file("prog", &prog, 0o755);

    let e = plan_exec(&dir.resolver(), b"/prog", args(&["p"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOENT, "missing interpreter");

    dir.file("ld.so", b"#!/bin/sh\n", 0o755);
    let e = plan_exec(&dir.resolver(), b"/prog", args(&["p"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ELIBBAD);
    assert!(e.message.unwrap().contains("/ld.so"));

    dir.file("ld.so", &synth_elf(1, 1, 3, 3), 0o755);
    let e = plan_exec(&dir.resolver(), b"/prog", args(&["p"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ELIBBAD);
    assert!(e.message.unwrap().contains("32-bit"));

    dir.file("ld.so", &synth_elf(2, 1, elf::EM_NATIVE, 3), 0o755);
    let plan = plan_exec(&dir.resolver(), b"/prog", args(&["p"])).unwrap();
    let i = plan.interp.unwrap();
    assert_eq!(i.guest_path, b"/ld.so");
    assert!(i.is_dyn);
}

/// A decoded script object: host path, [is_dyn entry phdr_vaddr phnum],
/// segments.
type DecodedObject = (Vec<u8>, [u64; 4], Vec<[u64; 5]>);

/// Decodes a script back into (orig_sp, execfn, objects).
fn decode(script: &[u8]) -> (u64, Vec<u8>, Vec<DecodedObject>) {
    let word = |i: usize| u64::from_le_bytes(script[i * 8..i * 8 + 8].try_into().unwrap());
    let cstr = |off: u64| {
        let s = &script[off as usize..];
        s[..s.iter().position(|&c| c == 0).unwrap()].to_vec()
    };
    assert_eq!(word(0), SCRIPT_MAGIC);
    let mut i = 4;
    let mut objs = Vec::new();
    for _ in 0..word(3) {
        let path = cstr(word(i));
        let hdr = [word(i + 1), word(i + 2), word(i + 3), word(i + 4)];
        let nsegs = word(i + 5) as usize;
        i += 6;
        let mut segs = Vec::new();
        for _ in 0..nsegs {
            segs.push([word(i), word(i + 1), word(i + 2), word(i + 3), word(i + 4)]);
            i += 5;
        }
        objs.push((path, hdr, segs));
    }
    (word(1), cstr(word(2)), objs)
}

#[test]
fn script_round_trip() {
    let plan = plan_exec(&HostResolver, b"/bin/ls", args(&["ls"])).unwrap();
    let script = plan.script(0x7ffd_1234_5670);
    assert_eq!(script.len() % 16, 0);
    assert_eq!(&script[..8], b"DLTOORPS", "magic reads SPROOTLD as a u64");
    let (sp, execfn, objs) = decode(&script);
    assert_eq!(sp, 0x7ffd_1234_5670);
    assert_eq!(execfn, b"/bin/ls");
    let interp = plan.interp.as_ref().unwrap();
    assert_eq!(objs.len(), 2);
    for ((path, hdr, segs), o) in objs.iter().zip([&plan.program, interp]) {
        assert_eq!(path.as_slice(), o.host_path.as_slice());
        assert_eq!(*hdr, [u64::from(o.is_dyn), o.entry, o.phdr_vaddr, o.phnum]);
        let want: Vec<[u64; 5]> = o
            .segments
            .iter()
            .map(|s| [s.vaddr, s.memsz, s.filesz, s.offset, s.prot])
            .collect();
        assert_eq!(*segs, want);
    }

    let mut solo = plan.clone();
    solo.interp = None;
    solo.execfn = b"./x".to_vec();
    let (_, execfn, objs) = decode(&solo.script(16));
    assert_eq!(execfn, b"./x");
    assert_eq!(objs.len(), 1);
}

#[test]
fn loader_is_embedded() {
    if cfg!(target_arch = "x86_64") {
        assert!(loader_available());
        assert_eq!(&LOADER[..4], b"\x7fELF");
    }
}

#[test]
fn install_loader_is_idempotent() {
    let dir = Scratch::new("install");
    if !loader_available() {
        let e = install_loader(&dir.0).unwrap_err();
        assert!(e.to_string().contains("not built for this architecture"));
        return;
    }
    let a = install_loader(&dir.0).unwrap();
    let b = install_loader(&dir.0).unwrap();
    assert_eq!(a, b);
    assert_eq!(std::fs::read(&a).unwrap(), LOADER);
    let mode = std::fs::metadata(&a).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(
        a.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("sproot-loader-")
    );
    // Only the final file remains (no temporaries).
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);
    assert!(install_loader(&dir.0.join("missing/dir")).is_err());
}

#[test]
fn install_loader_replaces_a_file_that_is_not_the_loader() {
    if !loader_available() {
        return;
    }
    let dir = Scratch::new("install-planted");
    let path = install_loader(&dir.0).unwrap();
    // Same name and size, other bytes (a planted or damaged file).
    let mut bad = LOADER.to_vec();
    bad[100] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();
    let again = install_loader(&dir.0).unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), LOADER);
    // Group- or world-writable: not trusted either.
    std::fs::set_permissions(&again, std::fs::Permissions::from_mode(0o777)).unwrap();
    let third = install_loader(&dir.0).unwrap();
    let mode = std::fs::metadata(&third).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
}

/// A resolver with a `-q` runner.
struct WithRunner<'a>(&'a Runner);

impl TestResolve for WithRunner<'_> {
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, PathBuf), Errno> {
        HostResolver.resolve(guest_path)
    }
    fn runner(&self) -> Option<&Runner> {
        Some(self.0)
    }
}

/// The first 64 bytes of an ELF64 header for machine `machine` (aarch64: 183).
fn elf_header(machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = 1;
    h[16] = 2;
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h
}

#[test]
fn foreign_programs_run_under_the_runner_with_argv0_and_their_guest_path() {
    let dir = Scratch::new("runner");
    let Some(qemu) = compile_c(&dir.0, "qemu", &["-static"]) else {
        eprintln!("note: skipping: gcc or static libc missing");
        return;
    };
    let runner = Runner::new(&format!("{} -cpu max", qemu.display()), false).unwrap();
    let foreign_machine = if elf::EM_NATIVE == 183 { 62 } else { 183 };
    let foreign = dir.file("foreign", &elf_header(foreign_machine), 0o755);
    let plan = plan_exec(
        &WithRunner(&runner),
        foreign.as_os_str().as_bytes(),
        args(&["name", "a", "b"]),
    )
    .unwrap();
    let guest = foreign.to_str().unwrap();
    let q = qemu.canonicalize().unwrap();
    let q = q.to_str().unwrap();
    assert_eq!(
        plan.argv,
        args(&[
            &qemu.display().to_string(),
            "-cpu",
            "max",
            "-0",
            "name",
            guest,
            "a",
            "b"
        ])
    );
    assert!(plan.argv_changed);
    assert_eq!(plan.program.host_path, q.as_bytes());
    assert!(plan.interp.is_none());
    // /proc/self/exe and set-id bits come from the program, not QEMU.
    assert_eq!(plan.exe_host, bytes(&foreign));
    assert_eq!(plan.exe_guest, guest.as_bytes());

    // Native programs run directly, unless every program is forced through.
    let native = plan_exec(&WithRunner(&runner), q.as_bytes(), args(&["n"])).unwrap();
    assert_eq!(native.argv, args(&["n"]));
    let forced = Runner {
        force: true,
        ..runner.clone()
    };
    let plan = plan_exec(&WithRunner(&forced), q.as_bytes(), args(&["n"])).unwrap();
    assert_eq!(plan.argv[plan.argv.len() - 3..], args(&["-0", "n", q])[..]);

    // Without a runner, a foreign program is refused as before.
    let e = plan_exec(&HostResolver, foreign.as_os_str().as_bytes(), args(&["x"])).unwrap_err();
    assert_eq!(e.errno, CErrno::ENOEXEC);
}

#[test]
fn a_runner_must_exist() {
    let e = Runner::new("", false).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let e = Runner::new("no-such-qemu-here", false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not found in the host's PATH"), "{e}");
}

#[test]
fn a_dynamic_runner_runs_through_the_hosts_linker_from_the_bound_root() {
    // Any dynamically linked host program stands for a dynamic QEMU.
    let mut runner = Runner::new("/bin/ls -x", false).unwrap();
    let host = runner.host.clone();
    let d = runner
        .dynamic
        .clone()
        .expect("/bin/ls is dynamically linked");
    let libc_dir = d
        .lib_dirs
        .iter()
        .find(|dir| dir.join("libc.so.6").exists())
        .expect("libc's directory is listed");
    runner.set_host_root(b"/hostfs".to_vec());
    let dir = Scratch::new("dynamic-runner");
    let foreign_machine = if elf::EM_NATIVE == 183 { 62 } else { 183 };
    let foreign = dir.file("foreign", &elf_header(foreign_machine), 0o755);
    let plan = plan_exec(
        &WithRunner(&runner),
        foreign.as_os_str().as_bytes(),
        args(&["name", "a"]),
    )
    .unwrap();
    let guest = |p: &Path| format!("/hostfs{}", p.display());
    assert_eq!(plan.program.host_path, bytes(&d.interp));
    assert!(plan.interp.is_none(), "the host's linker is static");
    assert_eq!(plan.argv[0], d.interp.as_os_str().as_bytes());
    assert_eq!(plan.argv[1], b"--library-path");
    let dirs = String::from_utf8(plan.argv[2].clone()).unwrap();
    assert!(dirs.split(':').any(|x| x == guest(libc_dir)), "{dirs}");
    assert!(dirs.split(':').all(|x| x.starts_with("/hostfs/")), "{dirs}");
    assert_eq!(plan.argv[3], b"--inhibit-cache");
    let foreign_guest = foreign.to_str().unwrap();
    assert_eq!(
        plan.argv[4..],
        args(&[&guest(&host), "-x", "-0", "name", foreign_guest, "a"])[..]
    );
    assert_eq!(plan.exe_host, bytes(&foreign));
}
