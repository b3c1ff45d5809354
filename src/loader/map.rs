//! Mapping a program and its interpreter as a load script describes them,
//! fixing the auxiliary vector, and jumping to the guest's code. Shared
//! with the in-process runtime (`runtime/`).

use core::arch::asm;

use crate::sys::*;

const MAGIC: u64 = 0x5350_524f_4f54_4c44;

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_ENTRY: u64 = 9;
pub const AT_EXECFN: u64 = 31;

/// Size of an Elf64_Phdr.
pub const PHENT_SIZE: u64 = 56;

/// Upper bound on objects / segments we accept, to fail cleanly on a corrupt
/// script instead of walking off into memory.
pub const MAX_OBJECTS: u64 = 2;
pub const MAX_SEGMENTS: u64 = 64;

// ---------------------------------------------------------------------------
// Script reading.

/// Cursor over the script's words.
struct Script {
    base: *const u64,
    pos: usize,
}

impl Script {
    fn next(&mut self) -> u64 {
        // SAFETY: the tracer wrote the script at `base`; it is 16-aligned and
        // the counts read from it are bounded (MAX_OBJECTS / MAX_SEGMENTS).
        let v = unsafe { core::ptr::read(self.base.add(self.pos)) };
        self.pos += 1;
        v
    }

    fn str_at(&self, off: u64) -> *const u8 {
        (self.base as usize + off as usize) as *const u8
    }
}

fn page_floor(x: usize, page: usize) -> usize {
    x & !(page - 1)
}

fn page_ceil(x: usize, page: usize) -> usize {
    match x.checked_add(page - 1) {
        Some(v) => v & !(page - 1),
        None => die(b"address check"),
    }
}

fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the strings in the script are NUL-terminated by the tracer.
    // (Volatile, so that the loop is not turned into a call to `strlen`.)
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

fn elf_prot(p: u64) -> usize {
    (p as usize) & (PROT_READ | PROT_WRITE | PROT_EXEC)
}

#[derive(Clone, Copy)]
struct Loaded {
    bias: usize,
    entry: usize,
    phdr: usize,
    phnum: usize,
}

/// Maps one object described at the script cursor; returns where it landed.
fn load_object(s: &mut Script, page: usize) -> Loaded {
    let path_off = s.next();
    let path = s.str_at(path_off);
    let is_dyn = s.next() != 0;
    let entry = s.next() as usize;
    let phdr_vaddr = s.next() as usize;
    let phnum = s.next() as usize;
    let nsegs = s.next();
    if nsegs == 0 || nsegs > MAX_SEGMENTS {
        die(b"script segment count check");
    }
    let segs_start = s.pos;

    // SAFETY: `path` is a NUL-terminated string inside the script.
    let fd = unsafe { open_rdonly(path) };
    if fd < 0 {
        // SAFETY: same string, its length computed by strlen.
        die_on(b"open", unsafe {
            core::slice::from_raw_parts(path, strlen(path))
        });
    }
    let fd = fd as usize;

    // Extent of the object, to reserve address space for position-
    // independent objects in one piece.
    let mut lo = usize::MAX;
    let mut hi = 0usize;
    for _ in 0..nsegs {
        let vaddr = s.next() as usize;
        let memsz = s.next() as usize;
        s.next();
        s.next();
        s.next();
        lo = lo.min(vaddr);
        match vaddr.checked_add(memsz) {
            Some(end) => hi = hi.max(end),
            None => die(b"segment size check"),
        }
    }
    let lo = page_floor(lo, page);
    let hi = page_ceil(hi, page);

    let bias = if is_dyn {
        let reserve = mmap(
            0,
            hi - lo,
            PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            usize::MAX,
            0,
        );
        reserve.wrapping_sub(lo)
    } else {
        0
    };

    s.pos = segs_start;
    for _ in 0..nsegs {
        let vaddr = s.next() as usize;
        let memsz = s.next() as usize;
        let filesz = s.next() as usize;
        let offset = s.next() as usize;
        let prot = elf_prot(s.next());
        map_segment(fd, bias, vaddr, memsz, filesz, offset, prot, page);
    }

    // SAFETY: closing our own descriptor.
    unsafe {
        syscall6(SYS_CLOSE, [fd, 0, 0, 0, 0, 0]);
    }

    Loaded {
        bias,
        entry: bias.wrapping_add(entry),
        phdr: if phdr_vaddr != 0 {
            bias.wrapping_add(phdr_vaddr)
        } else {
            0
        },
        phnum,
    }
}

#[allow(clippy::too_many_arguments)]
fn map_segment(
    fd: usize,
    bias: usize,
    vaddr: usize,
    memsz: usize,
    filesz: usize,
    offset: usize,
    prot: usize,
    page: usize,
) {
    if memsz == 0 {
        return;
    }
    let start = bias.wrapping_add(vaddr);
    let map_start = page_floor(start, page);
    let file_end = start + filesz;
    let mut anon_start = map_start;

    if filesz > 0 {
        let map_end = page_ceil(file_end, page);
        let needs_zeroing = memsz > filesz && file_end != map_end;
        let map_prot = if needs_zeroing {
            prot | PROT_WRITE
        } else {
            prot
        };
        mmap(
            map_start,
            map_end - map_start,
            map_prot,
            MAP_PRIVATE | MAP_FIXED,
            fd,
            page_floor(offset, page),
        );
        if needs_zeroing {
            // SAFETY: [file_end, map_end) is inside the mapping just created,
            // which is writable.
            unsafe {
                memset(file_end as *mut u8, 0, map_end - file_end);
            }
            if map_prot != prot {
                // SAFETY: changing protection of our own fresh mapping.
                let r = unsafe {
                    syscall6(
                        SYS_MPROTECT,
                        [map_start, map_end - map_start, prot, 0, 0, 0],
                    )
                };
                if r < 0 {
                    die(b"mprotect");
                }
            }
        }
        anon_start = map_end;
    }

    let mem_end = page_ceil(start + memsz, page);
    if mem_end > anon_start {
        mmap(
            anon_start,
            mem_end - anon_start,
            prot,
            MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
            usize::MAX,
            0,
        );
    }
}

/// Finds the auxiliary vector on the kernel-built stack at `sp`.
fn find_auxv(sp: *mut u64) -> *mut u64 {
    // SAFETY: the kernel lays out argc, argv[], NULL, envp[], NULL, auxv at
    // the initial stack pointer; we only walk within that layout.
    unsafe {
        let argc = core::ptr::read(sp) as usize;
        let mut p = sp.add(1 + argc + 1);
        while core::ptr::read(p) != 0 {
            p = p.add(1);
        }
        p.add(1)
    }
}

fn page_size(auxv: *mut u64) -> usize {
    let mut p = auxv;
    // SAFETY: walking auxv pairs up to AT_NULL (see find_auxv).
    unsafe {
        while core::ptr::read(p) != AT_NULL {
            if core::ptr::read(p) == AT_PAGESZ {
                let v = core::ptr::read(p.add(1)) as usize;
                if v.is_power_of_two() {
                    return v;
                }
            }
            p = p.add(2);
        }
    }
    4096
}

/// Copies the NUL-terminated string into a fresh anonymous page, because the
/// script area is about to become ordinary stack.
fn copy_execfn(src: *const u8, page: usize) -> usize {
    let len = strlen(src) + 1;
    let dst = mmap(
        0,
        page_ceil(len, page),
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        usize::MAX,
        0,
    );
    // SAFETY: `dst` is a fresh mapping of at least `len` bytes; `src` is a
    // string of `len` bytes including its terminator.
    unsafe {
        memcpy(dst as *mut u8, src, len);
    }
    dst
}

/// Name the process after the program, as the kernel does at exec (it
/// named it after the loader): the last component of `execfn`, at most 15
/// bytes. `ps`, `top` and /proc/<pid>/comm show it.
fn set_comm(execfn: usize) {
    let src = execfn as *const u8;
    let len = strlen(src);
    let mut start = 0;
    for i in 0..len {
        // SAFETY: `i < len`, inside the string.
        if unsafe { core::ptr::read_volatile(src.add(i)) } == b'/' {
            start = i + 1;
        }
    }
    let mut name = [0u8; 16];
    let mut n = 0;
    while n < 15 && start + n < len {
        // SAFETY: `start + n < len`, inside the string.
        name[n] = unsafe { core::ptr::read_volatile(src.add(start + n)) };
        n += 1;
    }
    // SAFETY: prctl(PR_SET_NAME) reads 16 bytes from a valid local buffer.
    unsafe {
        syscall6(SYS_PRCTL, [PR_SET_NAME, name.as_ptr() as usize, 0, 0, 0, 0]);
    }
}

/// Maps what the load script at `script` describes and fixes the auxiliary
/// vector of the kernel-built stack at `stack` (else at the script's
/// `orig_sp`): that stack pointer and the entry point to jump to.
pub fn load(script: *const u64, stack: Option<usize>) -> (usize, usize) {
    let mut s = Script {
        base: script,
        pos: 0,
    };
    if s.next() != MAGIC {
        die(b"load script check");
    }
    let script_sp = s.next() as usize;
    let orig_sp = stack.unwrap_or(script_sp);
    let execfn_off = s.next();
    let n_objects = s.next();
    if n_objects == 0 || n_objects > MAX_OBJECTS {
        die(b"script object count check");
    }

    let auxv = find_auxv(orig_sp as *mut u64);
    let page = page_size(auxv);

    let program = load_object(&mut s, page);
    let interp = if n_objects == 2 {
        Some(load_object(&mut s, page))
    } else {
        None
    };
    let execfn = copy_execfn(s.str_at(execfn_off), page);
    set_comm(execfn);

    let mut p = auxv;
    // SAFETY: walking and rewriting auxv values in place on the original
    // stack, which the kernel made writable and which we own.
    unsafe {
        loop {
            let key = core::ptr::read(p);
            let val = p.add(1);
            match key {
                AT_NULL => break,
                AT_PHDR => core::ptr::write(val, program.phdr as u64),
                AT_PHNUM => core::ptr::write(val, program.phnum as u64),
                AT_PHENT => core::ptr::write(val, PHENT_SIZE),
                AT_ENTRY => core::ptr::write(val, program.entry as u64),
                AT_BASE => core::ptr::write(val, interp.map_or(0, |i| i.bias as u64)),
                AT_EXECFN => core::ptr::write(val, execfn as u64),
                _ => {}
            }
            p = p.add(2);
        }
    }

    (orig_sp, interp.map_or(program.entry, |i| i.entry))
}

/// Hand control to the guest with the kernel-built stack.
#[cfg(target_arch = "x86_64")]
pub fn jump_to_guest(orig_sp: usize, entry: usize) -> ! {
    // SAFETY: hands control to the guest with the kernel-built stack, as the
    // kernel would have: rsp at argc, rdx = 0 (no atexit function), all other
    // general registers cleared.
    unsafe {
        asm!(
            // Marker for the tracer: `getpid` (never trapped) with the new
            // stack pointer and entry point in rdi and rsi. A guest tracer
            // is shown the exec at this point (see tracer/guest/hooks.rs).
            "mov eax, 39",
            "syscall",
            "mov rsp, rdi",
            "mov r11, rsi",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor ecx, ecx",
            "xor edx, edx",
            "xor esi, esi",
            "xor edi, edi",
            "xor ebp, ebp",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r12d, r12d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "xor r15d, r15d",
            "jmp r11",
            in("rdi") orig_sp,
            in("rsi") entry,
            options(noreturn),
        );
    }
}

/// Hand control to the guest with the kernel-built stack.
#[cfg(target_arch = "aarch64")]
pub fn jump_to_guest(orig_sp: usize, entry: usize) -> ! {
    // SAFETY: hands control to the guest with the kernel-built stack, as the
    // kernel would have: sp at argc, x0 = 0 (no atexit function), all other
    // general registers cleared.
    unsafe {
        asm!(
            // Every register but x1, x2 (the stack pointer and entry) zeroed
            // before the marker already: a guest tracer's view of the exec
            // resumes the program at its entry straight from the marker's
            // stop, and x7, which the kernel sets aside at a syscall stop
            // (it tells the tracer entry from exit), comes back as it was
            // before the `svc`.
            "mov x0, xzr",
            "mov x3, xzr",
            "mov x4, xzr",
            "mov x5, xzr",
            "mov x6, xzr",
            "mov x7, xzr",
            "mov x9, xzr",
            "mov x10, xzr",
            "mov x11, xzr",
            "mov x12, xzr",
            "mov x13, xzr",
            "mov x14, xzr",
            "mov x15, xzr",
            "mov x16, xzr",
            "mov x17, xzr",
            "mov x18, xzr",
            "mov x19, xzr",
            "mov x20, xzr",
            "mov x21, xzr",
            "mov x22, xzr",
            "mov x23, xzr",
            "mov x24, xzr",
            "mov x25, xzr",
            "mov x26, xzr",
            "mov x27, xzr",
            "mov x28, xzr",
            "mov x29, xzr",
            "mov x30, xzr",
            // Marker for the tracer: `getpid` (never trapped) with the new
            // stack pointer and entry point in x1 and x2 (x0 gets its
            // result). A guest tracer is shown the exec at this point (see
            // tracer/guest/hooks.rs).
            "mov x8, #172",
            "svc #0",
            "mov sp, x1",
            "mov x16, x2",
            "mov x0, xzr",
            "mov x1, xzr",
            "mov x2, xzr",
            "mov x8, xzr",
            "br x16",
            in("x1") orig_sp,
            in("x2") entry,
            options(noreturn),
        );
    }
}
