//! Exec support for the ptrace backend: the loader binary, `-q`'s QEMU
//! runner, and the host side of exec planning (the planning itself is the
//! core's, `sproot_core::exec`).
//!
//! Flow (see docs/ARCHITECTURE.md): on a guest `execve(filename, argv,
//! envp)` the tracer calls [`plan_exec`], then rewrites the syscall so the
//! kernel runs the loader ([`install_loader`]) with [`ExecPlan::argv`]. At
//! the `PTRACE_EVENT_EXEC` stop it writes [`ExecPlan::script`] below the
//! stack pointer (16-aligned, under the 128-byte red zone) and points `rsp`
//! at it; the loader maps the program and its interpreter from the host
//! paths, fixes the auxiliary vector and jumps to the guest's code.

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
pub use sproot_core::exec::{
    ExecError, ExecFile, ExecHost, ExecPlan, LoadObject, MAX_SHEBANG_DEPTH, SCRIPT_MAGIC, Segment,
    elf, load_object, runs_under_sh,
};

/// The static loader executable (empty when not built for this architecture).
pub const LOADER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sproot-loader"));

/// `-q 'QEMU [ARGS]'`: programs that are not for this host run under a
/// QEMU user-mode emulator, itself a host program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runner {
    /// The command's words: the QEMU program as given, then its arguments.
    pub argv: Vec<Vec<u8>>,
    /// Where the QEMU program is on the host.
    pub host: PathBuf,
    /// `PROOT_FORCE_FOREIGN_BINARY=1`: native programs run under QEMU too.
    pub force: bool,
    /// A dynamically linked QEMU: its libraries are the host's.
    pub dynamic: Option<DynamicQemu>,
}

/// A dynamically linked QEMU runs through the host's dynamic linker, with
/// the host's `/` bound in the guest (at `/host-rootfs` unless the user
/// bound it elsewhere): the linker, given the bound library directories
/// and the bound QEMU, finds the host's libraries there instead of the
/// guest's, which are for another machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicQemu {
    /// The host's dynamic linker (QEMU's `PT_INTERP`).
    pub interp: PathBuf,
    /// The host directories QEMU's libraries are in, in the order found.
    pub lib_dirs: Vec<PathBuf>,
    /// Where the host's `/` is in the guest (set once bindings are known).
    pub host_root: Vec<u8>,
}

/// Where the configuration binds the host's `/` for a dynamic QEMU when
/// the user did not (PRoot's name).
pub const HOST_ROOTFS: &str = "/host-rootfs";

impl DynamicQemu {
    /// The guest path of host path `p`.
    fn guest(&self, p: &Path) -> Vec<u8> {
        let mut g = self.host_root.clone();
        if g.last() == Some(&b'/') {
            g.pop();
        }
        g.extend_from_slice(p.as_os_str().as_bytes());
        g
    }
}

impl Runner {
    /// Parse `-q`'s value: words separated by blanks; the first is found in
    /// the host's `$PATH` unless it has a `/`. A dynamically linked QEMU
    /// runs through the host's linker ([`DynamicQemu`]).
    pub fn new(command: &str, force: bool) -> anyhow::Result<Runner> {
        use anyhow::{Context, bail};
        let argv: Vec<Vec<u8>> = command
            .split_whitespace()
            .map(|w| w.as_bytes().to_vec())
            .collect();
        let Some(first) = command.split_whitespace().next() else {
            bail!("-q: empty QEMU command");
        };
        let host = if first.contains('/') {
            PathBuf::from(first)
        } else {
            let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
            std::env::split_paths(&path)
                .map(|d| d.join(first))
                .find(|p| p.is_file())
                .with_context(|| format!("-q: {first}: not found in the host's PATH"))?
        };
        let host = std::fs::canonicalize(&host)
            .with_context(|| format!("-q: QEMU program {}", host.display()))?;
        let file = open_exec(&host).map_err(|e| anyhow::anyhow!("-q: {}: {e}", host.display()))?;
        let head = elf::read_upto(&*file, 0, 64)
            .map_err(Errno::from)
            .with_context(|| format!("-q: read {}", host.display()))?;
        if !elf::is_native(&head) {
            bail!("-q: {} is not a program for this host", host.display());
        }
        let (_, interp) = load_object(&*file, &head, Vec::new(), bytes(&host), ENOEXEC)
            .map_err(|e| anyhow::anyhow!("-q: {}: {e}", host.display()))?;
        let dynamic = match interp {
            None => None,
            Some(interp) => Some(dynamic_qemu(&host, &interp)?),
        };
        Ok(Runner {
            argv,
            host,
            force,
            dynamic,
        })
    }

    /// Whether an ELF file starting with `head` runs under QEMU: a
    /// foreign one, or any with `PROOT_FORCE_FOREIGN_BINARY`.
    pub fn runs(&self, head: &[u8]) -> bool {
        self.force || !elf::is_native(head)
    }

    /// The guest path the host's `/` is bound at, for a dynamic QEMU.
    pub fn set_host_root(&mut self, guest: Vec<u8>) {
        if let Some(d) = &mut self.dynamic {
            d.host_root = guest;
        }
    }

    /// The plan for running `program` (guest path `guest`, host path `host`)
    /// with `argv` under QEMU: QEMU is mapped from the host and given
    /// `-0 ARGV0 GUEST_PATH ARGS...`; QEMU opens the program by its guest
    /// path, translated like any guest access.
    pub fn plan(
        &self,
        guest: Vec<u8>,
        host: Vec<u8>,
        execfn: &[u8],
        argv: Vec<Vec<u8>>,
    ) -> Result<ExecPlan, ExecError> {
        // A dynamic QEMU: the host's linker runs it, from the bound `/`.
        let (first, mut args) = match &self.dynamic {
            None => (self.host.clone(), self.argv.clone()),
            Some(d) => {
                let dirs: Vec<Vec<u8>> = d.lib_dirs.iter().map(|p| d.guest(p)).collect();
                let mut a = vec![
                    d.interp.as_os_str().as_bytes().to_vec(),
                    b"--library-path".to_vec(),
                    dirs.join(&b':'),
                    b"--inhibit-cache".to_vec(),
                    d.guest(&self.host),
                ];
                a.extend(self.argv.iter().skip(1).cloned());
                (d.interp.clone(), a)
            }
        };
        let file = open_exec(&first).map_err(core_errno)?;
        let head = elf::read_upto(&*file, 0, 64)?;
        let (qemu, _) = load_object(&*file, &head, bytes(&first), bytes(&first), ENOEXEC)?;
        args.push(b"-0".to_vec());
        args.push(argv.first().cloned().unwrap_or_else(|| guest.clone()));
        args.push(guest.clone());
        args.extend(argv.into_iter().skip(1));
        Ok(ExecPlan {
            argv: args,
            argv_changed: true,
            exe_guest: guest,
            exe_host: host,
            execfn: execfn.to_vec(),
            program: qemu,
            interp: None,
        })
    }
}

/// A dynamically linked QEMU's linker (`interp`, its `PT_INTERP`) and the
/// host directories of its libraries, as that linker lists them
/// (`--list`).
fn dynamic_qemu(qemu: &Path, interp: &[u8]) -> anyhow::Result<DynamicQemu> {
    use anyhow::{Context, bail};
    let interp = PathBuf::from(std::ffi::OsStr::from_bytes(interp));
    let interp = std::fs::canonicalize(&interp).with_context(|| {
        format!(
            "-q: {} is dynamically linked and its linker {} is not on the host",
            qemu.display(),
            interp.display()
        )
    })?;
    let out = std::process::Command::new(&interp)
        .arg("--list")
        .arg(qemu)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let listed = match out {
        Ok(o) if o.status.success() => o.stdout,
        _ => bail!(
            "-q: {} is dynamically linked and its linker {} cannot list its \
             libraries; use a static QEMU (Debian's qemu-user-static, e.g. \
             qemu-aarch64-static)",
            qemu.display(),
            interp.display()
        ),
    };
    let mut lib_dirs: Vec<PathBuf> = Vec::new();
    for line in listed.split(|b| *b == b'\n') {
        // "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)"
        let Some(at) = line.windows(4).position(|w| w == b" => ") else {
            continue;
        };
        let rest = &line[at + 4..];
        let end = rest
            .windows(2)
            .position(|w| w == b" (")
            .unwrap_or(rest.len());
        let lib = Path::new(std::ffi::OsStr::from_bytes(&rest[..end]));
        if let Some(dir) = lib.parent().filter(|d| d.is_absolute())
            && !lib_dirs.iter().any(|d| d == dir)
        {
            lib_dirs.push(dir.to_path_buf());
        }
    }
    Ok(DynamicQemu {
        interp,
        lib_dirs,
        host_root: HOST_ROOTFS.as_bytes().to_vec(),
    })
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

/// A host file opened for exec.
struct HostExecFile(File);

impl ExecFile for HostExecFile {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, sproot_core::Errno> {
        self.0
            .read_at(buf, off)
            .map_err(|e| sproot_core::Errno::from(io_errno(&e)))
    }
}

/// Opens `host` for execution with the kernel's checks: it must be a
/// regular file with execute permission, else `EACCES`.
pub fn open_exec(host: &Path) -> Result<Box<dyn ExecFile>, Errno> {
    let meta = std::fs::metadata(host).map_err(|e| io_errno(&e))?;
    if !meta.file_type().is_file() {
        return Err(Errno::EACCES);
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if nix::unistd::access(host, nix::unistd::AccessFlags::X_OK).is_err() {
        return Err(Errno::EACCES);
    }
    let file = File::open(host).map_err(|e| io_errno(&e))?;
    Ok(Box::new(HostExecFile(file)))
}

/// `ExecHost::plan_foreign` for a backend with the runner `runner`.
pub fn plan_foreign(
    runner: Option<&Runner>,
    guest: Vec<u8>,
    host: Vec<u8>,
    execfn: &[u8],
    argv: Vec<Vec<u8>>,
) -> Result<ExecPlan, ExecError> {
    match runner {
        Some(q) => q.plan(guest, host, execfn, argv),
        None => Err(ExecError::new(sproot_core::Errno::ENOEXEC)),
    }
}

/// Plans an `execve(filename, argv, _)` like the kernel would run it
/// (`sproot_core::exec::plan_exec`).
pub fn plan_exec(
    r: &dyn ExecHost,
    filename: &[u8],
    argv: Vec<Vec<u8>>,
) -> Result<ExecPlan, ExecError> {
    sproot_core::exec::plan_exec(r, filename, argv)
}

const ENOEXEC: sproot_core::Errno = sproot_core::Errno::ENOEXEC;

fn core_errno(e: Errno) -> sproot_core::Errno {
    e.into()
}

fn bytes(p: &Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

/// Whether a loader was built for this architecture.
pub fn loader_available() -> bool {
    !LOADER.is_empty()
}

/// 64-bit FNV-1a, used to give the extracted loader a content-addressed name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An installed copy of the exec loader (`PROOT_LOADER`, or the path a
/// package built in): used as it is, without writing anything, if it is
/// byte for byte this build's loader (Android may not let an app execute
/// files it wrote itself). The exact bytes matter: the tracer and the
/// loader share the load script's layout, so another program's loader (a
/// PRoot's) cannot stand in.
pub fn installed_loader(path: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    if bytes != LOADER {
        anyhow::bail!("{} is not this sproot's exec loader", path.display());
    }
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o111 == 0 {
        anyhow::bail!("{} is not executable", path.display());
    }
    Ok(path.to_path_buf())
}

/// Writes the loader into `dir` (once; later calls reuse it) and returns its
/// path. The file name depends on the loader's content, so different sproot
/// builds sharing a temporary directory do not clash; the file is written
/// under a temporary name and renamed, so concurrent sproot processes never
/// see a partial loader.
///
/// Call it once, before starting tracees: a thread forking while the file
/// is open for writing can make that child's execve of it fail (ETXTBSY).
pub fn install_loader(dir: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    if !loader_available() {
        anyhow::bail!(
            "exec loader not built for this architecture ({})",
            std::env::consts::ARCH
        );
    }
    install_binary(dir, "sproot-loader", LOADER)
        .with_context(|| format!("installing the exec loader in {}", dir.display()))
}

/// Writes the program `bytes` into `dir` as `<prefix>-<euid>-<hash>` (once;
/// later calls reuse it) and returns its path: see [`install_loader`].
pub fn install_binary(dir: &Path, prefix: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    use anyhow::Context;

    // Per user, and reused only when it is ours, not writable by others and
    // byte for byte the loader: /tmp is shared, and every guest program
    // starts by executing this file.
    let euid = nix::unistd::geteuid().as_raw();
    let name = format!("{prefix}-{euid}-{:016x}", fnv1a(bytes));
    let path = dir.join(&name);
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        use std::os::unix::fs::MetadataExt;
        if meta.is_file()
            && meta.uid() == euid
            && meta.mode() & 0o022 == 0
            && meta.len() == bytes.len() as u64
            && std::fs::read(&path).is_ok_and(|b| b == bytes)
        {
            return Ok(path);
        }
    }

    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{seq}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&tmp)
            .with_context(|| format!("create {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("write {}", tmp.display()))?;
        // The umask may have masked the mode given to open().
        f.set_permissions(std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", tmp.display()))?;
        drop(f);
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("rename {} to {}", tmp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    Ok(path)
}
