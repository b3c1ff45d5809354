//! Minimal, bounds-checked ELF64 header parsing: just what the exec loader
//! needs (type, entry, program headers, `PT_INTERP`).

use super::{ExecFile, Segment};
use crate::Errno;
use crate::prelude::*;

pub const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// The kernel refuses program header tables larger than 64 KiB.
const MAX_PHDR_TABLE: usize = 65536;
/// PATH_MAX, the kernel's limit on `PT_INTERP`.
const MAX_INTERP: u64 = 4096;

const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

/// This machine's `e_machine`.
#[cfg(target_arch = "aarch64")]
pub const EM_NATIVE: u16 = 183;
/// This machine's `e_machine`.
#[cfg(not(target_arch = "aarch64"))]
pub const EM_NATIVE: u16 = 62;

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;

const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

const PROT_READ: u64 = 1;
const PROT_WRITE: u64 = 2;
const PROT_EXEC: u64 = 4;

/// Page size the loader aligns mappings to (the ELF congruence rule
/// `p_vaddr ≡ p_offset (mod page)` is checked against it).
const PAGE: u64 = 4096;

/// Why a file is not a loadable ELF; the text completes "<path>: ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn invalid<T>(why: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(why.into()))
}

/// Result of parsing an ELF file's headers.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub is_dyn: bool,
    pub entry: u64,
    pub phdr_vaddr: u64,
    pub phnum: u64,
    pub segments: Vec<Segment>,
    /// `PT_INTERP` contents without the trailing NUL.
    pub interp: Option<Vec<u8>>,
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Reads up to `len` bytes at `off`; fewer only at end of file.
pub fn read_upto(f: &dyn ExecFile, off: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        match f.read_at(off + done as u64, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

/// Errors from parsing: either the file is not acceptable, or reading it
/// failed.
#[derive(Debug)]
pub enum ParseError {
    Invalid(Invalid),
    Io(Errno),
}

impl From<Invalid> for ParseError {
    fn from(e: Invalid) -> Self {
        ParseError::Invalid(e)
    }
}

impl From<Errno> for ParseError {
    fn from(e: Errno) -> Self {
        ParseError::Io(e)
    }
}

/// Whether an ELF file starting with `head` is for this host: 64-bit,
/// little-endian, this machine. Anything else is foreign (for `-q`).
pub fn is_native(head: &[u8]) -> bool {
    head.starts_with(ELF_MAGIC)
        && head.get(4) == Some(&ELFCLASS64)
        && head.get(5) == Some(&ELFDATA2LSB)
        && head.len() >= 20
        && u16_at(head, 18) == EM_NATIVE
}

/// Checks the ELF identification and header fields; `head` must start with
/// the ELF magic. Returns (type, entry, phoff, phnum).
fn check_header(head: &[u8]) -> Result<(u16, u64, u64, u16), Invalid> {
    // The class first: a complete 32-bit header (52 bytes) is shorter than
    // a 64-bit one, and its problem is its class, not its size.
    match head.get(4) {
        Some(&ELFCLASS64) => {}
        Some(&ELFCLASS32) => return invalid("32-bit ELF is not supported yet"),
        Some(c) => return invalid(format!("invalid ELF class {c}")),
        None => return invalid("truncated ELF header"),
    }
    if head.len() < EHDR_SIZE {
        return invalid("truncated ELF header");
    }
    if head[5] != ELFDATA2LSB {
        return invalid("big-endian ELF is not supported");
    }
    let e_type = u16_at(head, 16);
    let e_machine = u16_at(head, 18);
    if e_machine != EM_NATIVE {
        return invalid(format!(
            "ELF for another architecture (e_machine {e_machine}) is not supported"
        ));
    }
    if e_type != ET_EXEC && e_type != ET_DYN {
        return invalid(format!("not an executable ELF (e_type {e_type})"));
    }
    let entry = u64_at(head, 24);
    let phoff = u64_at(head, 32);
    let phentsize = u16_at(head, 54);
    let phnum = u16_at(head, 56);
    if phentsize as usize != PHDR_SIZE {
        return invalid(format!("unexpected program header size {phentsize}"));
    }
    if phnum == 0 || phnum as usize * PHDR_SIZE > MAX_PHDR_TABLE {
        return invalid(format!("bad program header count {phnum}"));
    }
    Ok((e_type, entry, phoff, phnum))
}

fn prot_of(flags: u32) -> u64 {
    let mut p = 0;
    if flags & PF_R != 0 {
        p |= PROT_READ;
    }
    if flags & PF_W != 0 {
        p |= PROT_WRITE;
    }
    if flags & PF_X != 0 {
        p |= PROT_EXEC;
    }
    p
}

/// Parses the ELF headers of `f`, whose first bytes are `head`.
pub fn parse(f: &dyn ExecFile, head: &[u8]) -> Result<Parsed, ParseError> {
    let (e_type, entry, phoff, phnum) = check_header(head)?;
    let table_len = phnum as usize * PHDR_SIZE;
    let table = read_upto(f, phoff, table_len)?;
    if table.len() != table_len {
        return Err(Invalid("truncated program header table".into()).into());
    }

    let mut segments = Vec::new();
    let mut interp_ph = None;
    let mut phdr_vaddr = None;
    for i in 0..phnum as usize {
        let ph = &table[i * PHDR_SIZE..(i + 1) * PHDR_SIZE];
        let p_type = u32_at(ph, 0);
        let p_flags = u32_at(ph, 4);
        let p_offset = u64_at(ph, 8);
        let p_vaddr = u64_at(ph, 16);
        let p_filesz = u64_at(ph, 32);
        let p_memsz = u64_at(ph, 40);
        match p_type {
            PT_LOAD => {
                if p_filesz > p_memsz {
                    return Err(Invalid("PT_LOAD with filesz > memsz".into()).into());
                }
                if p_vaddr.checked_add(p_memsz).is_none()
                    || p_offset.checked_add(p_filesz).is_none()
                    || p_vaddr.saturating_add(p_memsz) > (1 << 47)
                {
                    return Err(Invalid("PT_LOAD out of range".into()).into());
                }
                if p_vaddr % PAGE != p_offset % PAGE {
                    return Err(Invalid("misaligned PT_LOAD".into()).into());
                }
                segments.push(Segment {
                    vaddr: p_vaddr,
                    memsz: p_memsz,
                    filesz: p_filesz,
                    offset: p_offset,
                    prot: prot_of(p_flags),
                });
            }
            PT_INTERP => {
                if interp_ph.is_some() {
                    return Err(Invalid("more than one PT_INTERP".into()).into());
                }
                interp_ph = Some((p_offset, p_filesz));
            }
            PT_PHDR => phdr_vaddr = Some(p_vaddr),
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(Invalid("no PT_LOAD segment".into()).into());
    }

    let phdr_vaddr = phdr_vaddr.unwrap_or_else(|| {
        let table_end = phoff.saturating_add(table_len as u64);
        segments
            .iter()
            .find(|s| s.offset <= phoff && table_end <= s.offset.saturating_add(s.filesz))
            .map_or(0, |s| s.vaddr + (phoff - s.offset))
    });

    let interp = match interp_ph {
        None => None,
        Some((off, len)) => {
            if !(2..=MAX_INTERP).contains(&len) {
                return Err(Invalid("bad PT_INTERP size".into()).into());
            }
            let mut path = read_upto(f, off, len as usize)?;
            if path.len() as u64 != len || path.last() != Some(&0) {
                return Err(Invalid("bad PT_INTERP".into()).into());
            }
            path.pop();
            if path.is_empty() || path.contains(&0) {
                return Err(Invalid("bad PT_INTERP".into()).into());
            }
            Some(path)
        }
    };

    Ok(Parsed {
        is_dyn: e_type == ET_DYN,
        entry,
        phdr_vaddr,
        phnum: phnum as u64,
        segments,
        interp,
    })
}
