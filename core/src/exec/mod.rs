//! Planning an `execve` as the kernel would run it, for a loader that maps
//! the program itself: `#!` lines, the ELF headers of the program and of
//! its interpreter, the kernel's errors, and the *load script* the loader
//! reads.
//!
//! Both engines use it: the ptrace backend hands the script to the loader
//! at the exec stop; the in-process runtime passes it to the next runtime
//! image. The host is reached through [`ExecHost`] (path resolution in the
//! guest's view, opening a file with the kernel's exec checks).
//!
//! Load script layout (u64 little-endian words; `*_off` are byte offsets
//! from the script start; strings follow the words, NUL-terminated):
//!
//! ```text
//! [0] SCRIPT_MAGIC  [1] orig_sp  [2] execfn_off  [3] n_objects (1 or 2)
//! per object (program, then interpreter):
//!     path_off is_dyn entry phdr_vaddr phnum nsegs
//!     nsegs x { vaddr memsz filesz offset prot }
//! ```

pub mod elf;

use crate::Errno;
use crate::prelude::*;
use crate::shebang;

/// First word of a load script: "SPROOTLD".
pub const SCRIPT_MAGIC: u64 = 0x5350_524f_4f54_4c44;

/// How many `#!` indirections are followed before failing with `ELOOP`:
/// five, as Linux runs them (a sixth script fails).
pub const MAX_SHEBANG_DEPTH: usize = 5;

/// A file opened for exec.
pub trait ExecFile {
    /// Read at `off` into `buf`: how many bytes (0 at the end).
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno>;
}

/// What planning an exec asks of the host.
pub trait ExecHost {
    /// A guest path (absolute, or relative to the exec's directory) as
    /// (its canonical guest path, its host path), symlinks followed.
    fn resolve(&self, guest_path: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Errno>;
    /// Open a host file for exec with the kernel's checks: a regular file
    /// with execute permission for the caller, else `EACCES`.
    fn open_exec(&self, host: &[u8]) -> Result<Box<dyn ExecFile + '_>, Errno>;
    /// `-q`: whether an ELF file starting with `head` runs under the QEMU
    /// runner ([`ExecHost::plan_foreign`]) instead of natively.
    fn runs_foreign(&self, _head: &[u8]) -> bool {
        false
    }
    /// `-q`: the plan that runs `guest` (host path `host`) under QEMU.
    fn plan_foreign(
        &self,
        _guest: Vec<u8>,
        _host: Vec<u8>,
        _execfn: &[u8],
        _argv: Vec<Vec<u8>>,
    ) -> Result<ExecPlan, ExecError> {
        Err(ExecError::new(Errno::ENOEXEC))
    }
}

/// One `PT_LOAD` segment, unrelocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub filesz: u64,
    pub offset: u64,
    /// `PROT_READ | PROT_WRITE | PROT_EXEC` bits.
    pub prot: u64,
}

/// An ELF file the loader maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadObject {
    pub host_path: Vec<u8>,
    pub guest_path: Vec<u8>,
    /// `ET_DYN` (position independent: loaded at a kernel-chosen address).
    pub is_dyn: bool,
    /// `e_entry`, unrelocated.
    pub entry: u64,
    /// Unrelocated address of the program headers in memory; 0 if unknown.
    pub phdr_vaddr: u64,
    pub phnum: u64,
    pub segments: Vec<Segment>,
}

/// What to run for one `execve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPlan {
    /// argv the kernel must see (== original unless a shebang rewrote it).
    pub argv: Vec<Vec<u8>>,
    pub argv_changed: bool,
    /// Guest path of the final ELF (what `/proc/self/exe` must read as).
    pub exe_guest: Vec<u8>,
    pub exe_host: Vec<u8>,
    /// The filename as passed to execve (`AT_EXECFN`).
    pub execfn: Vec<u8>,
    pub program: LoadObject,
    pub interp: Option<LoadObject>,
}

/// An execve failure: the errno the guest must see, plus an optional
/// message for the user (for cases where the errno alone would be
/// confusing, e.g. an unsupported ELF flavour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub errno: Errno,
    pub message: Option<String>,
}

impl ExecError {
    pub fn new(errno: Errno) -> Self {
        ExecError {
            errno,
            message: None,
        }
    }

    pub fn with_message(errno: Errno, message: impl Into<String>) -> Self {
        ExecError {
            errno,
            message: Some(message.into()),
        }
    }
}

impl From<Errno> for ExecError {
    fn from(errno: Errno) -> Self {
        ExecError::new(errno)
    }
}

impl core::fmt::Display for ExecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = self.errno.name().unwrap_or("error");
        match &self.message {
            Some(m) => write!(f, "{m} ({name})"),
            None => write!(f, "{name}"),
        }
    }
}

fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Reads and parses an ELF file that starts with `head`; `bad` is the
/// error for a file that is not a loadable ELF. Also gives its
/// `PT_INTERP`.
pub fn load_object(
    file: &dyn ExecFile,
    head: &[u8],
    guest: Vec<u8>,
    host: Vec<u8>,
    bad: Errno,
) -> Result<(LoadObject, Option<Vec<u8>>), ExecError> {
    let parsed = elf::parse(file, head).map_err(|e| match e {
        elf::ParseError::Invalid(why) => {
            ExecError::with_message(bad, format!("sproot: {}: {}", show(&guest), why.0))
        }
        elf::ParseError::Io(e) => ExecError::new(e),
    })?;
    let obj = LoadObject {
        host_path: host,
        guest_path: guest,
        is_dyn: parsed.is_dyn,
        entry: parsed.entry,
        phdr_vaddr: parsed.phdr_vaddr,
        phnum: parsed.phnum,
        segments: parsed.segments,
    };
    Ok((obj, parsed.interp))
}

/// Plans an `execve(filename, argv, _)` like the kernel would run it.
///
/// Errors mirror the kernel's: resolution errors pass through, non-regular
/// or non-executable files give `EACCES`, unknown formats `ENOEXEC`, too
/// many `#!` levels `ELOOP`, a broken ELF interpreter `ELIBBAD`.
pub fn plan_exec(
    r: &dyn ExecHost,
    filename: &[u8],
    argv: Vec<Vec<u8>>,
) -> Result<ExecPlan, ExecError> {
    if filename.is_empty() {
        return Err(ExecError::new(Errno::ENOENT));
    }
    let mut argv = argv;
    let mut argv_changed = false;
    let mut path = filename.to_vec();
    let mut depth = 0;
    loop {
        let (guest, host) = r.resolve(&path)?;
        let file = r.open_exec(&host)?;
        let head = elf::read_upto(&*file, 0, shebang::BUF_SIZE)?;

        if head.starts_with(b"#!") {
            if depth >= MAX_SHEBANG_DEPTH {
                return Err(ExecError::new(Errno::ELOOP));
            }
            depth += 1;
            let sb = shebang::parse(&head).ok_or(ExecError::new(Errno::ENOEXEC))?;
            if sb.interp.is_empty() {
                return Err(ExecError::new(Errno::ENOENT));
            }
            let mut new_argv = Vec::with_capacity(argv.len() + 2);
            new_argv.push(sb.interp.clone());
            new_argv.extend(sb.arg);
            new_argv.push(path);
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            argv_changed = true;
            path = sb.interp;
            continue;
        }

        if !head.starts_with(elf::ELF_MAGIC) {
            return Err(ExecError::new(Errno::ENOEXEC));
        }
        if r.runs_foreign(&head) {
            return r.plan_foreign(guest, host, filename, argv);
        }
        let (program, interp_path) =
            load_object(&*file, &head, guest.clone(), host.clone(), Errno::ENOEXEC)?;
        let interp = match interp_path {
            None => None,
            Some(ip) => Some(plan_interp(r, &ip)?),
        };
        return Ok(ExecPlan {
            argv,
            argv_changed,
            exe_guest: guest,
            exe_host: host,
            execfn: filename.to_vec(),
            program,
            interp,
        });
    }
}

/// Resolves and parses a `PT_INTERP` (a guest path) into a load object.
fn plan_interp(r: &dyn ExecHost, guest_path: &[u8]) -> Result<LoadObject, ExecError> {
    let (guest, host) = r.resolve(guest_path)?;
    let file = r.open_exec(&host)?;
    let head = elf::read_upto(&*file, 0, 64)?;
    if !head.starts_with(elf::ELF_MAGIC) {
        return Err(ExecError::with_message(
            Errno::ELIBBAD,
            format!(
                "sproot: {}: ELF interpreter is not an ELF file",
                show(&guest)
            ),
        ));
    }
    // The interpreter's own PT_INTERP, if any, is ignored (as by the kernel).
    let (obj, _) = load_object(&*file, &head, guest, host, Errno::ELIBBAD)?;
    Ok(obj)
}

impl ExecPlan {
    /// Serialises the load script for a loader whose initial stack pointer
    /// is `orig_sp` (see the module docs for the layout). The length is a
    /// multiple of 16.
    pub fn script(&self, orig_sp: u64) -> Vec<u8> {
        let objects: Vec<&LoadObject> = core::iter::once(&self.program)
            .chain(self.interp.as_ref())
            .collect();
        let n_words = 4 + objects
            .iter()
            .map(|o| 6 + 5 * o.segments.len())
            .sum::<usize>();

        let mut strings = Vec::new();
        let mut add_string = |s: &[u8]| -> u64 {
            let off = (n_words * 8 + strings.len()) as u64;
            strings.extend_from_slice(s);
            strings.push(0);
            off
        };
        let execfn_off = add_string(&self.execfn);
        let path_offs: Vec<u64> = objects.iter().map(|o| add_string(&o.host_path)).collect();

        let mut words = Vec::with_capacity(n_words);
        words.extend([SCRIPT_MAGIC, orig_sp, execfn_off, objects.len() as u64]);
        for (o, path_off) in objects.iter().zip(path_offs) {
            words.extend([
                path_off,
                u64::from(o.is_dyn),
                o.entry,
                o.phdr_vaddr,
                o.phnum,
                o.segments.len() as u64,
            ]);
            for s in &o.segments {
                words.extend([s.vaddr, s.memsz, s.filesz, s.offset, s.prot]);
            }
        }
        debug_assert_eq!(words.len(), n_words);

        let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out.extend_from_slice(&strings);
        out.resize(out.len().next_multiple_of(16), 0);
        out
    }
}

/// Whether the kernel refuses to run a file that starts with `head`
/// (`ENOEXEC`): neither an ELF nor a `#!` line naming an interpreter.
/// `execvp` runs such a file with `/bin/sh`, and so does sproot for the
/// first command.
pub fn runs_under_sh(head: &[u8]) -> bool {
    !head.starts_with(elf::ELF_MAGIC) && shebang::parse(head).is_none()
}
