//! The in-process engine's shared pieces: what the launcher hands the
//! runtime that lives in every guest process (the guest's view, the
//! program to load, the filter), and the seccomp filter that sends the
//! syscalls needing translation to the runtime's `SIGSYS` handler.
//!
//! The hand-off is one environment string, `SPROOT_INPROC=<hex>`, added at
//! every exec and taken out of the environment by the runtime before the
//! program starts. Its bytes are fields, each a little-endian `u32` length
//! and the bytes.

use crate::Errno;
use crate::cbpf::Insn;
use crate::ext::fake_id::Creds;
use crate::ext::net::Ports;
use crate::prelude::*;

/// The environment variable the runtime reads at its start.
pub const ENV_NAME: &[u8] = b"SPROOT_INPROC";

/// Format version: a runtime refuses a hand-off of another version.
const VERSION: u32 = 5;

/// `SECCOMP_RET_DATA` of the filter's traps: tells the runtime's `SIGSYS`
/// from another filter's.
pub const TRAP_DATA: u16 = 0x5350;

/// What a runtime starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handoff {
    /// The runtime's own host path (every exec runs it again).
    pub runtime: Vec<u8>,
    /// The host directory that is the guest's `/`.
    pub root: Vec<u8>,
    /// The bindings, (host, guest), in order.
    pub bindings: Vec<(Vec<u8>, Vec<u8>)>,
    /// The glue tree's host root, if any.
    pub glue: Option<Vec<u8>>,
    /// The program's guest path and host path (`/proc/self/exe`).
    pub exe_guest: Vec<u8>,
    pub exe_host: Vec<u8>,
    /// The load script (`crate::exec`), built with `orig_sp` 0.
    pub script: Vec<u8>,
    /// The filter, raw `sock_filter`s: present only at the first start,
    /// which installs it (it then holds across every exec).
    pub filter: Vec<u8>,
    /// `-v`'s level: the runtime reports on stderr from 1 on.
    pub verbose: i8,
    /// The run's shared state (a file every guest process maps, laid out
    /// as [`crate::shared::MappedState`]): the fake owners, attributes and
    /// `uname` names, and the count of changes to the guest's names, so
    /// that each process's directory cache knows when to start over.
    /// Empty: none (no cache, no shared state).
    pub shared: Vec<u8>,
    /// Whether the processes keep directory caches.
    pub cache: bool,
    /// The extensions' settings and the process's fake credentials.
    pub ext: Ext,
    /// `--sysvipc`: the abstract socket name (without its leading NUL)
    /// of the launcher's IPC namespace ([`ipc`]); empty: off.
    pub ipc: Vec<u8>,
    /// The name (guest, host) the process used for its working directory,
    /// when that host path has several (it crosses `execve`).
    pub cwd_name: Option<(Vec<u8>, Vec<u8>)>,
    /// The runtime's code, `[lo, hi)`: the filter's window, which the
    /// guest's own filters are made to exempt too ([`exempt_runtime`]).
    pub window: (u64, u64),
    /// The guest's own seccomp filters, oldest first, as it gave them
    /// (raw `sock_filter`s): they hold across `execve` as in the kernel,
    /// and the runtime answers a trapped call as they say.
    pub guest_filters: Vec<Vec<u8>>,
}

/// The PRoot extensions a runtime applies, and the fake credentials of
/// the process that execs (they cross `execve` as in the kernel).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ext {
    /// `-0`/`-i`: the fake credentials.
    pub creds: Option<Creds>,
    /// The ids of the user running sproot.
    pub real: (u32, u32),
    /// `--persist-ownership`.
    pub persist: bool,
    /// `-L`: symlink sizes as their targets' lengths.
    pub symlink_sizes: bool,
    /// `-k` (or `-0`): `uname` answered from the shared state.
    pub uname: bool,
    /// `-k`'s `AT_HWCAP`, in place of the kernel's.
    pub hwcap: Option<u64>,
    /// `-l`: hard links emulated with symlinks.
    pub link2symlink: bool,
    /// `-l`'s `PROOT_L2S_DIR`.
    pub l2s_dir: Option<Vec<u8>>,
    /// `-H`: sproot's files hidden from listings.
    pub hide: bool,
    /// Binding points missing from the rootfs, added to listings.
    pub points: bool,
    /// `-p` and `-n`.
    pub ports: Ports,
    /// `--stats`: every translated call counted in the shared state.
    pub stats: bool,
}

impl Ext {
    const PERSIST: u8 = 1;
    const SYMLINK_SIZES: u8 = 2;
    const UNAME: u8 = 4;
    const LINK2SYMLINK: u8 = 8;
    const HIDE: u8 = 16;
    const POINTS: u8 = 32;
    const PORT_SWITCH: u8 = 64;
    const NETCOOP: u8 = 128;

    fn flags(&self) -> u8 {
        [
            (self.persist, Self::PERSIST),
            (self.symlink_sizes, Self::SYMLINK_SIZES),
            (self.uname, Self::UNAME),
            (self.link2symlink, Self::LINK2SYMLINK),
            (self.hide, Self::HIDE),
            (self.points, Self::POINTS),
            (self.ports.switch, Self::PORT_SWITCH),
            (self.ports.netcoop, Self::NETCOOP),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(0, |f, (_, bit)| f | bit)
    }

    /// Whether directory listings are filtered (`-H`, `-l`, binding
    /// points).
    pub fn lists(&self) -> bool {
        self.hide || self.link2symlink || self.points
    }

    /// Whether stat results are rewritten (fake owners, symlink sizes,
    /// link counts).
    pub fn rewrites_stat(&self) -> bool {
        self.creds.is_some() || self.symlink_sizes || self.link2symlink
    }
}

fn creds_bytes(c: &Creds) -> Vec<u8> {
    let ids = [
        c.ruid, c.euid, c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid,
    ];
    ids.iter()
        .chain(c.groups.iter())
        .flat_map(|i| i.to_le_bytes())
        .collect()
}

fn creds_of(b: &[u8]) -> Result<Option<Creds>, Errno> {
    if b.is_empty() {
        return Ok(None);
    }
    if b.len() < 32 || !b.len().is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let ids: Vec<u32> = b
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Some(Creds {
        ruid: ids[0],
        euid: ids[1],
        suid: ids[2],
        fsuid: ids[3],
        rgid: ids[4],
        egid: ids[5],
        sgid: ids[6],
        fsgid: ids[7],
        groups: ids[8..].to_vec(),
    }))
}

struct Writer(Vec<u8>);

impl Writer {
    fn field(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn field(&mut self) -> Result<&'a [u8], Errno> {
        if self.0.len() < 4 {
            return Err(Errno::EINVAL);
        }
        let n = u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize;
        let rest = &self.0[4..];
        if rest.len() < n {
            return Err(Errno::EINVAL);
        }
        self.0 = &rest[n..];
        Ok(&rest[..n])
    }

    fn u64(&mut self) -> Result<u64, Errno> {
        let f = self.field()?;
        let b: [u8; 8] = f.try_into().map_err(|_| Errno::EINVAL)?;
        Ok(u64::from_le_bytes(b))
    }

    fn u32(&mut self) -> Result<u32, Errno> {
        let f = self.field()?;
        let b: [u8; 4] = f.try_into().map_err(|_| Errno::EINVAL)?;
        Ok(u32::from_le_bytes(b))
    }
}

impl Handoff {
    /// The bytes of the hand-off.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.field(&VERSION.to_le_bytes());
        w.field(&self.runtime);
        w.field(&self.root);
        w.field(&(self.bindings.len() as u32).to_le_bytes());
        for (h, g) in &self.bindings {
            w.field(h);
            w.field(g);
        }
        match &self.glue {
            Some(g) => {
                w.field(b"1");
                w.field(g);
            }
            None => w.field(b""),
        }
        w.field(&self.exe_guest);
        w.field(&self.exe_host);
        w.field(&self.script);
        w.field(&self.filter);
        w.field(&[self.verbose as u8]);
        w.field(&self.shared);
        w.field(&[u8::from(self.cache)]);
        w.field(&self.ext.creds.as_ref().map(creds_bytes).unwrap_or_default());
        w.field(&self.ext.real.0.to_le_bytes());
        w.field(&self.ext.real.1.to_le_bytes());
        w.field(&[self.ext.flags()]);
        w.field(&self.ext.hwcap.map(u64::to_le_bytes).unwrap_or_default());
        match &self.ext.l2s_dir {
            Some(d) => {
                w.field(b"1");
                w.field(d);
            }
            None => w.field(b""),
        }
        w.field(&self.ipc);
        let map: Vec<u8> = self
            .ext
            .ports
            .map
            .iter()
            .flat_map(|(a, b)| a.to_le_bytes().into_iter().chain(b.to_le_bytes()))
            .collect();
        w.field(&map);
        w.field(&[u8::from(self.ext.stats)]);
        match &self.cwd_name {
            Some((g, h)) => {
                w.field(b"1");
                w.field(g);
                w.field(h);
            }
            None => w.field(b""),
        }
        w.field(&self.window.0.to_le_bytes());
        w.field(&self.window.1.to_le_bytes());
        w.field(&(self.guest_filters.len() as u32).to_le_bytes());
        for f in &self.guest_filters {
            w.field(f);
        }
        w.0
    }

    /// A hand-off from its bytes (`EINVAL`: not one of this version).
    pub fn decode(b: &[u8]) -> Result<Handoff, Errno> {
        let mut r = Reader(b);
        if r.u32()? != VERSION {
            return Err(Errno::EINVAL);
        }
        let runtime = r.field()?.to_vec();
        let root = r.field()?.to_vec();
        let n = r.u32()? as usize;
        let mut bindings = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let h = r.field()?.to_vec();
            let g = r.field()?.to_vec();
            bindings.push((h, g));
        }
        let glue = match r.field()? {
            b"" => None,
            _ => Some(r.field()?.to_vec()),
        };
        let exe_guest = r.field()?.to_vec();
        let exe_host = r.field()?.to_vec();
        let script = r.field()?.to_vec();
        let filter = r.field()?.to_vec();
        let verbose = r.field()?.first().copied().unwrap_or(0) as i8;
        let shared = r.field()?.to_vec();
        let cache = r.field()?.first() == Some(&1);
        let creds = creds_of(r.field()?)?;
        let real = (r.u32()?, r.u32()?);
        let flags = r.field()?.first().copied().unwrap_or(0);
        let hwcap = match r.field()? {
            [] => None,
            b => Some(u64::from_le_bytes(b.try_into().map_err(|_| Errno::EINVAL)?)),
        };
        let l2s_dir = match r.field()? {
            b"" => None,
            _ => Some(r.field()?.to_vec()),
        };
        let ipc = r.field()?.to_vec();
        let map = r
            .field()?
            .chunks_exact(4)
            .map(|c| {
                (
                    u16::from_le_bytes([c[0], c[1]]),
                    u16::from_le_bytes([c[2], c[3]]),
                )
            })
            .collect();
        let stats = r.field()? == [1];
        let cwd_name = match r.field()? {
            b"" => None,
            _ => Some((r.field()?.to_vec(), r.field()?.to_vec())),
        };
        let window = (r.u64()?, r.u64()?);
        let n = r.u32()? as usize;
        let mut guest_filters = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            guest_filters.push(r.field()?.to_vec());
        }
        let ext = Ext {
            creds,
            real,
            persist: flags & Ext::PERSIST != 0,
            symlink_sizes: flags & Ext::SYMLINK_SIZES != 0,
            uname: flags & Ext::UNAME != 0,
            hwcap,
            link2symlink: flags & Ext::LINK2SYMLINK != 0,
            l2s_dir,
            hide: flags & Ext::HIDE != 0,
            points: flags & Ext::POINTS != 0,
            ports: Ports {
                switch: flags & Ext::PORT_SWITCH != 0,
                map,
                netcoop: flags & Ext::NETCOOP != 0,
            },
            stats,
        };
        Ok(Handoff {
            window,
            guest_filters,
            cwd_name,
            ipc,
            shared,
            cache,
            ext,
            runtime,
            root,
            bindings,
            glue,
            exe_guest,
            exe_host,
            script,
            filter,
            verbose,
        })
    }

    /// The environment string `SPROOT_INPROC=<hex>`, NUL-terminated.
    pub fn env_string(&self) -> Vec<u8> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = self.encode();
        let mut s = Vec::with_capacity(ENV_NAME.len() + 2 + 2 * bytes.len());
        s.extend_from_slice(ENV_NAME);
        s.push(b'=');
        for b in bytes {
            s.push(HEX[(b >> 4) as usize]);
            s.push(HEX[(b & 15) as usize]);
        }
        s.push(0);
        s
    }

    /// The hand-off in an environment string's value (after `=`).
    pub fn from_env_value(hex: &[u8]) -> Result<Handoff, Errno> {
        if !hex.len().is_multiple_of(2) {
            return Err(Errno::EINVAL);
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(Errno::EINVAL),
        };
        let mut bytes = Vec::with_capacity(hex.len() / 2);
        for p in hex.chunks_exact(2) {
            bytes.push(digit(p[0])? << 4 | digit(p[1])?);
        }
        Handoff::decode(&bytes)
    }
}

/// The value of `SPROOT_INPROC` if `entry` (an environment string) is it.
pub fn env_value(entry: &[u8]) -> Option<&[u8]> {
    entry
        .strip_prefix(ENV_NAME)
        .and_then(|rest| rest.strip_prefix(b"="))
}

// Classic BPF, as linux/filter.h and linux/seccomp.h define it.
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;
const LD_IMM: u16 = 0x00;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const ENOSYS: u32 = 38;
const JSET_K: u16 = 0x45;
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_IP_LO: u32 = 8;
const OFF_IP_HI: u32 = 12;

/// A syscall the filter traps, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// Always.
    Always(i64),
    /// Unless argument `arg` is 0 (a NULL pointer: nothing to translate).
    UnlessZero(i64, u32),
    /// Unless argument `arg` is 0, or argument `other` equals `value`
    /// (`rt_sigprocmask`: no new set, or `SIG_UNBLOCK`).
    UnlessZeroOr(i64, u32, u32, u32),
    /// Only when argument `arg` has one of the bits `mask` (low 32 bits).
    IfBits(i64, u32, u32),
    /// Never: the kernel answers `-errno` at once (`clone3`, whose flags
    /// the filter cannot read).
    Errno(i64, u16),
}

impl Trap {
    fn nr(self) -> i64 {
        match self {
            Trap::Always(n)
            | Trap::UnlessZero(n, _)
            | Trap::UnlessZeroOr(n, ..)
            | Trap::IfBits(n, ..)
            | Trap::Errno(n, _) => n,
        }
    }
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// The filter: for `arch` (`AUDIT_ARCH_*`), the syscalls of `traps` made
/// from outside the runtime's code (`[runtime_lo, runtime_hi)`, one 4 GiB
/// window) get `SECCOMP_RET_TRAP` with [`TRAP_DATA`]; everything else is
/// allowed. The syscall number is tested first, so that the kernel sees
/// every other syscall as always allowed (and caches that). Another
/// architecture's syscalls (`int 0x80` on x86_64) get `ENOSYS`: their
/// paths would not be translated.
pub fn trap_filter(arch: u32, traps: &[Trap], runtime_lo: u64, runtime_hi: u64) -> Vec<Insn> {
    let mut p = vec![
        insn(LD_W_ABS, 0, 0, OFF_ARCH),
        insn(JEQ_K, 1, 0, arch),
        insn(RET_K, 0, 0, RET_ERRNO | ENOSYS),
        insn(LD_W_ABS, 0, 0, OFF_NR),
    ];
    // One block per trap: `jeq nr` to its body, else on to the next.
    for t in traps {
        let body = body(*t, runtime_lo, runtime_hi);
        p.push(insn(JEQ_K, 0, body.len() as u8, t.nr() as u32));
        p.extend(body);
    }
    p.push(insn(RET_K, 0, 0, RET_ALLOW));
    p
}

/// A guest's own filter `prog` as the runtime installs it: the calls the
/// runtime makes from its code (`[lo, hi)`) are allowed first, so that
/// the translated call it re-issues is not judged by a filter that was
/// written for the guest's own instructions (the runtime judges the
/// guest's call itself, with the guest's instruction pointer:
/// [`crate::cbpf::run_stack`]); then `prog` runs unchanged, its jumps
/// being relative, with the accumulator zeroed as the kernel starts it.
pub fn exempt_runtime(prog: &[Insn], lo: u64, hi: u64) -> Vec<Insn> {
    let mut p = vec![
        insn(LD_W_ABS, 0, 0, OFF_IP_HI),
        insn(JEQ_K, 0, 4, (lo >> 32) as u32),
        insn(LD_W_ABS, 0, 0, OFF_IP_LO),
        insn(JGE_K, 0, 2, lo as u32),
        insn(JGE_K, 1, 0, hi as u32),
        insn(RET_K, 0, 0, RET_ALLOW),
        insn(LD_IMM, 0, 0, 0),
    ];
    p.extend_from_slice(prog);
    p
}

/// What runs for one trapped syscall: the argument tests, the runtime's
/// window, `TRAP`; every way out that does not trap is `ALLOW`.
fn body(t: Trap, lo: u64, hi: u64) -> Vec<Insn> {
    let allow = insn(RET_K, 0, 0, RET_ALLOW);
    let mut b = Vec::new();
    let arg_lo = |i: u32| 16 + 8 * i;
    match t {
        Trap::Always(_) => {}
        Trap::Errno(_, e) => return vec![insn(RET_K, 0, 0, RET_ERRNO | u32::from(e))],
        Trap::IfBits(_, a, mask) => {
            b.push(insn(LD_W_ABS, 0, 0, arg_lo(a)));
            b.push(insn(JSET_K, 1, 0, mask));
            b.push(allow);
        }
        Trap::UnlessZero(_, a) | Trap::UnlessZeroOr(_, a, ..) => {
            // Both halves 0: allowed.
            b.push(insn(LD_W_ABS, 0, 0, arg_lo(a)));
            b.push(insn(JEQ_K, 0, 3, 0));
            b.push(insn(LD_W_ABS, 0, 0, arg_lo(a) + 4));
            b.push(insn(JEQ_K, 0, 1, 0));
            b.push(allow);
            if let Trap::UnlessZeroOr(_, _, other, value) = t {
                b.push(insn(LD_W_ABS, 0, 0, arg_lo(other)));
                b.push(insn(JEQ_K, 0, 1, value));
                b.push(allow);
            }
        }
    }
    let trap = insn(RET_K, 0, 0, RET_TRAP | u32::from(TRAP_DATA));
    // From the runtime's window: allowed.
    b.push(insn(LD_W_ABS, 0, 0, OFF_IP_HI));
    b.push(insn(JEQ_K, 1, 0, (lo >> 32) as u32));
    b.push(trap);
    b.push(insn(LD_W_ABS, 0, 0, OFF_IP_LO));
    b.push(insn(JGE_K, 0, 1, lo as u32));
    b.push(insn(JGE_K, 0, 1, hi as u32));
    b.push(trap);
    b.push(allow);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbpf::{SeccompData, run};

    const ARCH: u32 = 0xc000_003e;
    const LO: u64 = 0x6e00_0000_0000;
    const HI: u64 = 0x6e00_0010_0000;

    fn answer(p: &[Insn], nr: i32, ip: u64, args: [u64; 6]) -> u32 {
        let d = SeccompData {
            nr,
            arch: ARCH,
            instruction_pointer: ip,
            args,
        };
        run(p, &d).expect("a valid program")
    }

    #[test]
    fn a_guest_filter_exempts_the_runtime_and_answers_as_before_elsewhere() {
        // The guest's filter: getppid gets ERRNO(1) when argument 0 is 5,
        // otherwise everything is allowed; it reads A before any load
        // (the kernel starts it at 0).
        let guest = [
            insn(0x04, 0, 0, 5), // A += 5: 5 only if A started at 0
            insn(0x07, 0, 0, 0), // X = A
            insn(LD_W_ABS, 0, 0, OFF_NR),
            insn(JEQ_K, 0, 3, 110),
            insn(LD_W_ABS, 0, 0, 16),
            insn(0x1d, 0, 1, 0), // jeq X
            insn(RET_K, 0, 0, RET_ERRNO | 1),
            insn(RET_K, 0, 0, RET_ALLOW),
        ];
        let p = exempt_runtime(&guest, LO, HI);
        let args = [5, 0, 0, 0, 0, 0];
        for ip in [0x4000, LO - 1, HI, HI + 0x1000, (LO & 0xffff_ffff) + 0x1000] {
            assert_eq!(answer(&p, 110, ip, args), RET_ERRNO | 1, "{ip:#x}");
            assert_eq!(answer(&p, 110, ip, [6, 0, 0, 0, 0, 0]), RET_ALLOW);
            assert_eq!(answer(&guest, 110, ip, args), RET_ERRNO | 1);
        }
        for ip in [LO, LO + 0x1000, HI - 1] {
            assert_eq!(answer(&p, 110, ip, args), RET_ALLOW, "{ip:#x}");
        }
    }

    #[test]
    fn traps_outside_the_runtime_only() {
        let p = trap_filter(
            ARCH,
            &[
                Trap::Always(262),
                Trap::UnlessZeroOr(14, 1, 0, 1),
                Trap::IfBits(272, 0, 0x1000_0000),
                Trap::Errno(435, 38),
            ],
            LO,
            HI,
        );
        let trap = RET_TRAP | u32::from(TRAP_DATA);
        assert_eq!(answer(&p, 262, 0x4000, [0; 6]), trap);
        assert_eq!(answer(&p, 262, LO + 0x1000, [0; 6]), RET_ALLOW);
        assert_eq!(answer(&p, 262, HI, [0; 6]), trap);
        assert_eq!(answer(&p, 262, LO - 1, [0; 6]), trap);
        assert_eq!(answer(&p, 0, 0x4000, [0; 6]), RET_ALLOW);
        // rt_sigprocmask: a new set that is not SIG_UNBLOCK traps.
        assert_eq!(answer(&p, 14, 0x4000, [0, 0x7000, 0, 0, 0, 0]), trap);
        assert_eq!(answer(&p, 14, 0x4000, [0, 1 << 40, 0, 0, 0, 0]), trap);
        assert_eq!(answer(&p, 14, 0x4000, [1, 0x7000, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(answer(&p, 14, 0x4000, [0, 0, 8, 0, 0, 0]), RET_ALLOW);
        // unshare: only with CLONE_NEWUSER; clone3: ENOSYS from anywhere.
        assert_eq!(
            answer(&p, 272, 0x4000, [0x2_0000, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(answer(&p, 272, 0x4000, [0x1002_0000, 0, 0, 0, 0, 0]), trap);
        assert_eq!(answer(&p, 272, LO, [0x1002_0000, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(answer(&p, 435, LO, [0; 6]), RET_ERRNO | 38);
        // Another architecture's calls are not run.
        let d = SeccompData {
            nr: 262,
            arch: 0x4000_0003,
            ..Default::default()
        };
        assert_eq!(run(&p, &d), Some(RET_ERRNO | 38));
    }

    #[test]
    fn a_handoff_survives_the_environment() {
        let h = Handoff {
            runtime: b"/tmp/rt".to_vec(),
            root: b"/srv/root".to_vec(),
            bindings: vec![(b"/proc".to_vec(), b"/proc".to_vec())],
            glue: Some(b"/tmp/glue".to_vec()),
            exe_guest: b"/bin/sh".to_vec(),
            exe_host: b"/srv/root/bin/sh".to_vec(),
            script: vec![1, 2, 3, 0, 255],
            filter: vec![],
            verbose: 2,
            shared: b"/tmp/gen".to_vec(),
            ipc: b"sproot-ipc-1".to_vec(),
            cwd_name: Some((b"/y".to_vec(), b"/d".to_vec())),
            window: (0x6e00_0000_0000, 0x6e00_0010_0000),
            guest_filters: vec![vec![0x06, 0, 0, 0, 0, 0, 0xff, 0x7f], vec![]],
            cache: true,
            ext: Ext {
                creds: Some(Creds {
                    groups: vec![4, 24],
                    ..Creds::new(0, 7)
                }),
                real: (1000, 1001),
                persist: false,
                symlink_sizes: true,
                uname: true,
                hwcap: Some(0x1234),
                link2symlink: true,
                l2s_dir: Some(b"/r/.l2s".to_vec()),
                hide: false,
                points: true,
                ports: Ports {
                    switch: true,
                    map: vec![(80, 8080), (443, 8443)],
                    netcoop: true,
                },
                stats: true,
            },
        };
        let s = h.env_string();
        assert_eq!(s.last(), Some(&0));
        let value = env_value(&s[..s.len() - 1]).unwrap();
        assert_eq!(Handoff::from_env_value(value), Ok(h));
        assert_eq!(env_value(b"SPROOT_INPROCX=1"), None);
        assert_eq!(Handoff::from_env_value(b"0g"), Err(Errno::EINVAL));
        assert_eq!(Handoff::from_env_value(b"01"), Err(Errno::EINVAL));
    }
}

/// `--sysvipc` under the in-process engine: the messages between a
/// guest thread's runtime and the launcher, which keeps the run's IPC
/// namespace. One `SOCK_SEQPACKET` connection per guest thread, to an
/// abstract socket ([`Handoff::ipc`]); every message is little-endian
/// 64-bit words (an attach's reply has the segment's path after them).
pub mod ipc {
    /// Runtime → launcher: `[CALL, tid, pid, uid, gid, nr, args[6]]`.
    pub const CALL: u64 = 1;
    /// Runtime → launcher, after an attach's `mmap`:
    /// `[ATTACHED, tid, pid, 0, 0, result, id]`.
    pub const ATTACHED: u64 = 2;
    /// Runtime → launcher, after a detach's `munmap` succeeded:
    /// `[DETACHED, tid, pid, 0, 0, addr]`.
    pub const DETACHED: u64 = 3;
    /// Runtime → launcher: a wait ended without a wake-up,
    /// `[STOPPED, tid, pid, 0, 0, interrupted]` (0: its timeout).
    pub const STOPPED: u64 = 4;

    /// Launcher → runtime: `[DONE, value]`.
    pub const DONE: u64 = 1;
    /// `[WAIT, has_timeout, tv_sec, tv_nsec]`: wait for [`WAKE`], then
    /// send the call again.
    pub const WAIT: u64 = 2;
    /// `[ATTACH, id, size, addr, remap, readonly, exec]` + the path:
    /// `openat`, `mmap` (`MAP_SHARED`), `close`, then [`ATTACHED`].
    pub const ATTACH: u64 = 3;
    /// `[DETACH, addr, len]`: `munmap`, then [`DETACHED`] if it worked.
    pub const DETACH: u64 = 4;
    /// The object the thread waits on changed.
    pub const WAKE: u64 = 5;
    /// The launcher took note ([`ATTACHED`], [`DETACHED`], [`STOPPED`]).
    pub const ACK: u64 = 6;

    /// The words of a message.
    pub fn words(b: &[u8]) -> impl Iterator<Item = u64> + '_ {
        b.chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
    }

    /// A message of `w`, then `tail`.
    pub fn message(w: &[u64], tail: &[u8]) -> super::Vec<u8> {
        let mut b: super::Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        b.extend_from_slice(tail);
        b
    }
}
