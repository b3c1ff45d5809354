//! The seccomp filters a tracee runs under.
//!
//! The main filter is `filters/<arch>.json`, compiled to BPF by `build.rs`
//! with seccompiler and embedded here. A second, hand-written filter traps
//! every syscall number the main filter's table does not know (newer than the
//! table, or x32), so a path-bearing syscall added to a future kernel stops at
//! the tracer, which answers `ENOSYS`, instead of running on host paths.
//!
//! Filters are prepared before `fork` (allocation) and installed in the child
//! with [`Prepared::install`], which only makes syscalls (seccompiler's
//! `apply_filter`: `PR_SET_NO_NEW_PRIVS`, then `seccomp(SET_MODE_FILTER)`).

/// The one cBPF decoder and interpreter, in the core.
pub use sproot_core::cbpf;
pub mod own_trap;

use nix::errno::Errno;
use seccompiler::{BpfProgram, sock_filter};

static MAIN_FILTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/filter.bpf"));
/// The main filter plus what the extensions (fake ids, uname, link2symlink,
/// hidden files) need to see: every stat, the credential syscalls, ...
static EXT_FILTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/filter_ext.bpf"));

pub use sproot_core::table::LAST_KNOWN_SYSNO;

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_KILL_THREAD: u32 = 0;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JGT_K: u16 = 0x25;
const BPF_RET_K: u16 = 0x06;
const OFFSET_NR: u32 = 0;

/// Decode an embedded filter. Its only kill is seccompiler's answer to a
/// syscall of another architecture (a 64-bit guest's `int $0x80`): that
/// one gets `ENOSYS`, as from a kernel without 32-bit emulation, rather
/// than killing the guest.
fn decode(bytes: &[u8]) -> BpfProgram {
    cbpf::decode(bytes)
        .into_iter()
        .map(|i| sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: if i.code == BPF_RET_K
                && matches!(i.k, SECCOMP_RET_KILL_PROCESS | SECCOMP_RET_KILL_THREAD)
            {
                SECCOMP_RET_ERRNO | libc::ENOSYS as u32
            } else {
                i.k
            },
        })
        .collect()
}

/// `clone3` → `ENOSYS`; `nr > LAST_KNOWN_SYSNO` → trace (sproot answers
/// `ENOSYS`); else allow. The main filter already checks the architecture.
///
/// `clone3`'s flags are in a structure the filter cannot read, so telling a
/// new user namespace or `CLONE_UNTRACED` apart would take a stop per
/// thread and per `posix_spawn` (about 20 µs each). Answered `ENOSYS`, as
/// a kernel before 5.3 answers, glibc falls back to `clone`, whose flags
/// the main filter reads. (Without seccomp every call stops anyway, and
/// `clone3` gets the kernel's own answers: see `syscall::userns`.)
fn unknown_filter() -> BpfProgram {
    vec![
        sock_filter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: OFFSET_NR,
        },
        sock_filter {
            code: BPF_JMP_JEQ_K,
            jt: 0,
            jf: 1,
            k: crate::arch::sys::SYS_clone3 as u32,
        },
        sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        },
        sock_filter {
            code: BPF_JMP_JGT_K,
            jt: 0,
            jf: 1,
            k: LAST_KNOWN_SYSNO,
        },
        sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_TRACE,
        },
        sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ]
}

const BPF_JMP_JEQ_K: u16 = 0x15;
const OFFSET_ARCH: u32 = 4;

/// The filter a guest tracer gets on top of the others (guest ptrace):
/// `wait4` and `waitid` stop at the tracer, so that it can show the guest
/// tracer its tracees' stops. As the raw bytes of a `sock_filter` array.
pub fn guest_tracer_filter() -> Vec<u8> {
    let f = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let prog = [
        f(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
        f(BPF_JMP_JEQ_K, 0, 4, crate::arch::AUDIT_ARCH),
        f(BPF_LD_W_ABS, 0, 0, OFFSET_NR),
        f(BPF_JMP_JEQ_K, 1, 0, crate::arch::sys::SYS_wait4 as u32),
        f(BPF_JMP_JEQ_K, 0, 1, crate::arch::sys::SYS_waitid as u32),
        f(BPF_RET_K, 0, 0, SECCOMP_RET_TRACE),
        f(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    to_bytes(&prog)
}

/// A program as the raw bytes of its `sock_filter` array.
fn to_bytes(prog: &[sock_filter]) -> Vec<u8> {
    let insns: Vec<cbpf::Insn> = prog
        .iter()
        .map(|i| cbpf::Insn {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    cbpf::encode(&insns)
}

/// `nr` one of `sysnos` → trace, else allow: more syscalls to stop at.
fn trace_set(sysnos: &[i64]) -> BpfProgram {
    let f = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let n = sysnos.len();
    let mut prog = vec![f(BPF_LD_W_ABS, 0, 0, OFFSET_NR)];
    // Each test jumps over the ones after it and the allow to the trace.
    for (i, nr) in sysnos.iter().enumerate() {
        prog.push(f(BPF_JMP_JEQ_K, (n - i) as u8, 0, *nr as u32));
    }
    prog.push(f(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW));
    prog.push(f(BPF_RET_K, 0, 0, SECCOMP_RET_TRACE));
    prog
}

/// The SysV IPC calls, which `--sysvipc` emulates.
pub(crate) use sproot_core::sysno::SYSV_IPC;

/// The filters, ready to install.
pub struct Prepared {
    main: BpfProgram,
    unknown: BpfProgram,
    /// `getdents64` stops too (binding points to add to listings), when the
    /// main filter does not stop it already.
    listings: Option<BpfProgram>,
    /// The SysV IPC calls stop too (`--sysvipc`).
    sysvipc: Option<BpfProgram>,
}

impl Prepared {
    pub fn new() -> Self {
        Self::with_extensions(false)
    }

    /// The filters for a run with extensions on (`ext`) or off.
    pub fn with_extensions(ext: bool) -> Self {
        Prepared {
            main: decode(if ext { EXT_FILTER } else { MAIN_FILTER }),
            unknown: unknown_filter(),
            listings: None,
            sysvipc: None,
        }
    }

    /// The filters a run with configuration `cfg` installs.
    pub fn for_config(cfg: &crate::config::Config) -> Self {
        Self::with_extensions(cfg.ext.needs_ext_filter())
            .with_listings(cfg.view.lists_points())
            .with_sysvipc(cfg.ext.sysvipc)
    }

    /// Also stop at the SysV IPC calls (`--sysvipc`).
    pub fn with_sysvipc(mut self, on: bool) -> Self {
        self.sysvipc = on.then(|| trace_set(&SYSV_IPC));
        self
    }

    /// Also stop at `getdents64` (for [`crate::fs::GuestView::lists_points`]).
    pub fn with_listings(mut self, on: bool) -> Self {
        self.listings = on.then(|| trace_set(&[crate::arch::sys::SYS_getdents64]));
        self
    }

    /// The programs, the most recently installed first (as the kernel runs
    /// them; the tracer evaluates them to tell its own stops from those of
    /// a guest's filter).
    pub fn programs(&self) -> Vec<&[sock_filter]> {
        let mut v: Vec<&[sock_filter]> = Vec::with_capacity(4);
        if let Some(l) = &self.listings {
            v.push(l);
        }
        v.push(&self.main);
        if let Some(i) = &self.sysvipc {
            v.push(i);
        }
        v.push(&self.unknown);
        v
    }

    /// Number of BPF instructions in the main filter (for logs and tests).
    pub fn main_len(&self) -> usize {
        self.main.len()
    }

    /// Install both filters on the calling thread. Meant for the forked
    /// child right before `execve`: no allocation happens here.
    pub fn install(&self) -> Result<(), Errno> {
        // The SysV IPC filter goes in before the main one, whose `seccomp`
        // stop would otherwise cost the start-up one more stop.
        for prog in [
            Some(&self.unknown),
            self.sysvipc.as_ref(),
            Some(&self.main),
            self.listings.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            seccompiler::apply_filter(prog).map_err(|e| match e {
                seccompiler::Error::Prctl(io) | seccompiler::Error::Seccomp(io) => {
                    Errno::from_raw(io.raw_os_error().unwrap_or(libc::EINVAL))
                }
                _ => Errno::EINVAL,
            })?;
        }
        Ok(())
    }
}

impl Default for Prepared {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_filter_is_a_nonempty_bpf_program() {
        let f = decode(MAIN_FILTER);
        assert!(f.len() > 10, "filter has {} instructions", f.len());
        assert_eq!(MAIN_FILTER.len() % 8, 0);
        let ext = decode(EXT_FILTER);
        assert!(ext.len() > f.len(), "the extension filter traps more");
        // The last instruction of a seccompiler program is a return.
        assert_eq!(f.last().map(|i| i.code & 0x07), Some(0x06));
        // Nothing kills: a foreign architecture's syscall gets ENOSYS.
        let returns: Vec<u32> = f
            .iter()
            .filter(|i| i.code == BPF_RET_K)
            .map(|i| i.k)
            .collect();
        assert!(returns.contains(&(SECCOMP_RET_ERRNO | libc::ENOSYS as u32)));
        assert!(!returns.contains(&SECCOMP_RET_KILL_PROCESS) && !returns.contains(&0));
    }

    #[test]
    fn the_sysvipc_filter_traces_exactly_the_ipc_calls() {
        let p = Prepared::new().with_sysvipc(true);
        let prog = p.sysvipc.as_ref().unwrap();
        let insns = cbpf::decode(&to_bytes(prog));
        for nr in 0..=LAST_KNOWN_SYSNO as i32 {
            let data = cbpf::SeccompData {
                nr,
                ..Default::default()
            };
            let want = if SYSV_IPC.contains(&i64::from(nr)) {
                cbpf::RET_TRACE
            } else {
                cbpf::RET_ALLOW
            };
            assert_eq!(cbpf::run(&insns, &data), Some(want), "syscall {nr}");
        }
        assert_eq!(p.programs().len(), 3);
        assert!(Prepared::new().sysvipc.is_none());
    }

    #[test]
    fn the_second_filter_answers_clone3_and_traces_unknown_numbers() {
        let insns = cbpf::decode(&to_bytes(&unknown_filter()));
        let run = |nr: i64| {
            let data = cbpf::SeccompData {
                nr: nr as i32,
                ..Default::default()
            };
            cbpf::run(&insns, &data)
        };
        let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        assert_eq!(run(crate::arch::sys::SYS_clone3), Some(enosys));
        assert_eq!(run(crate::arch::sys::SYS_clone), Some(cbpf::RET_ALLOW));
        assert_eq!(run(crate::arch::sys::SYS_getpid), Some(cbpf::RET_ALLOW));
        assert_eq!(run(i64::from(LAST_KNOWN_SYSNO) + 1), Some(cbpf::RET_TRACE));
    }
}
