//! A classic BPF interpreter for seccomp filters: runs a program on a
//! `struct seccomp_data` the way the kernel does, so that sproot can tell
//! what a guest's own filter answers for a syscall (guest/filters.rs) and
//! whether its own filter traps it.
//!
//! Only what the kernel accepts in a seccomp filter is run: 32-bit loads of
//! `seccomp_data` at aligned offsets, immediate and scratch-memory loads and
//! stores, the ALU, forward jumps and returns. Anything else (or running off
//! the end) is reported as `None`; the kernel would have refused such a
//! program at install time.

use alloc::vec::Vec;

/// One instruction, as in `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The kernel's limit on a filter's length.
pub const MAX_INSNS: usize = 4096;

/// `struct seccomp_data`: what a filter sees of a syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// Size of the structure (what `BPF_LEN` loads).
    pub const SIZE: u32 = 64;

    /// The 32-bit word at byte offset `off` (aligned, in bounds), in the
    /// machine's byte order as the kernel loads it.
    fn word(&self, off: u32) -> Option<u32> {
        if !off.is_multiple_of(4) || off >= Self::SIZE {
            return None;
        }
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let o = off as usize;
        Some(u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]))
    }
}

/// A program as the kernel takes it: its `struct sock_filter` array's
/// bytes (what [`decode`] reads back).
pub fn encode(prog: &[Insn]) -> Vec<u8> {
    prog.iter()
        .flat_map(|i| {
            let mut b = [0u8; 8];
            b[0..2].copy_from_slice(&i.code.to_ne_bytes());
            b[2] = i.jt;
            b[3] = i.jf;
            b[4..8].copy_from_slice(&i.k.to_ne_bytes());
            b
        })
        .collect()
}

/// Decode the raw bytes of a `sock_filter` array (8 bytes each).
pub fn decode(bytes: &[u8]) -> Vec<Insn> {
    bytes
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

// Instruction classes and fields (linux/bpf_common.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const SRC_X: u16 = 0x08;
const RVAL_A: u16 = 0x10;

/// Run `prog` on `data`: the value the filter returns, or `None` for a
/// program the kernel would not run.
pub fn run(prog: &[Insn], data: &SeccompData) -> Option<u32> {
    if prog.is_empty() || prog.len() > MAX_INSNS {
        return None;
    }
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    loop {
        let i = *prog.get(pc)?;
        pc += 1;
        let class = i.code & 0x07;
        match class {
            LD | LDX => {
                let v = match (i.code & 0xe0, i.code & 0x18) {
                    (ABS, W) if class == LD => data.word(i.k)?,
                    (IMM, W) => i.k,
                    (LEN, W) => SeccompData::SIZE,
                    (MEM, W) => *mem.get(i.k as usize)?,
                    _ => return None,
                };
                if class == LD {
                    a = v;
                } else {
                    x = v;
                }
            }
            ST => *mem.get_mut(i.k as usize)? = a,
            STX => *mem.get_mut(i.k as usize)? = x,
            ALU => {
                let src = if i.code & SRC_X != 0 { x } else { i.k };
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    // Division by a zero X ends the program with 0, as the
                    // kernel's translation of classic BPF does.
                    0x30 if src == 0 => return Some(0),
                    0x30 => a / src,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 if src == 0 => return Some(0),
                    0x90 => a % src,
                    0xa0 => a ^ src,
                    _ => return None,
                };
            }
            JMP => {
                let src = if i.code & SRC_X != 0 { x } else { i.k };
                let taken = match i.code & 0xf0 {
                    0x00 => {
                        pc = pc.checked_add(i.k as usize)?;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    _ => return None,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            RET => {
                return match i.code & 0x18 {
                    RVAL_A => Some(a),
                    0 => Some(i.k),
                    _ => None,
                };
            }
            MISC => {
                if i.code & 0xf8 == 0 {
                    x = a; // TAX
                } else {
                    a = x; // TXA
                }
            }
            _ => return None,
        }
    }
}

/// The action part of a filter's answer.
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
pub const RET_DATA: u32 = 0x0000_ffff;
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// The answer of a stack of filters, the most recently installed first:
/// the action of highest precedence (the lowest as a signed number), with
/// the data of the most recent filter that gave it (seccomp(2)). A program
/// that cannot run counts as allowing.
pub fn run_stack<'a>(
    most_recent_first: impl IntoIterator<Item = &'a [Insn]>,
    data: &SeccompData,
) -> u32 {
    let mut best = RET_ALLOW;
    for prog in most_recent_first {
        let r = run(prog, data).unwrap_or(RET_ALLOW);
        if ((r & RET_ACTION_FULL) as i32) < ((best & RET_ACTION_FULL) as i32) {
            best = r;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn op(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    fn data(nr: i32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch: 0xc000_003e,
            instruction_pointer: 0x1234_5678_9abc,
            args,
        }
    }

    /// `nr == want` → TRACE|7, else ALLOW.
    fn trace_one(want: u32) -> Vec<Insn> {
        vec![
            op(LD | W | ABS, 0, 0, 0),
            op(JMP | 0x10, 0, 1, want),
            op(RET, 0, 0, RET_TRACE | 7),
            op(RET, 0, 0, RET_ALLOW),
        ]
    }

    #[test]
    fn a_jump_on_the_syscall_number_picks_the_return() {
        let p = trace_one(39);
        assert_eq!(run(&p, &data(39, [0; 6])), Some(RET_TRACE | 7));
        assert_eq!(run(&p, &data(40, [0; 6])), Some(RET_ALLOW));
    }

    #[test]
    fn loads_see_the_fields_of_seccomp_data_in_both_halves() {
        let d = data(
            1,
            [0x1111_2222_3333_4444, 0, 0, 0, 0, 0xdead_beef_0000_0005],
        );
        let load = |off| {
            run(
                &[op(LD | W | ABS, 0, 0, off), op(RET | RVAL_A, 0, 0, 0)],
                &d,
            )
        };
        assert_eq!(load(4), Some(0xc000_003e));
        assert_eq!(load(8), Some(0x5678_9abc));
        assert_eq!(load(12), Some(0x1234));
        assert_eq!(load(16), Some(0x3333_4444));
        assert_eq!(load(20), Some(0x1111_2222));
        assert_eq!(load(56), Some(5));
        assert_eq!(load(60), Some(0xdead_beef));
        assert_eq!(load(64), None, "out of bounds");
        assert_eq!(load(2), None, "unaligned");
    }

    #[test]
    fn alu_memory_and_x_register_work_as_in_the_kernel() {
        // A = nr; A = A*3 + 1; M[2] = A; X = 10; A = X; A = A - M[2]... via X.
        let p = vec![
            op(LD | W | ABS, 0, 0, 0),
            op(ALU | 0x20, 0, 0, 3),
            op(ALU, 0, 0, 1),
            op(ST, 0, 0, 2),
            op(LDX | W | IMM, 0, 0, 100),
            op(MISC | 0x80, 0, 0, 0), // TXA: A = 100
            op(LDX | W | MEM, 0, 0, 2),
            op(ALU | 0x10 | SRC_X, 0, 0, 0), // A -= X
            op(RET | RVAL_A, 0, 0, 0),
        ];
        assert_eq!(run(&p, &data(5, [0; 6])), Some(100 - 16));
        // Division by a zero X returns 0 (kill).
        let div = vec![op(LDX | W | IMM, 0, 0, 0), op(ALU | 0x30 | SRC_X, 0, 0, 0)];
        assert_eq!(run(&div, &data(5, [0; 6])), Some(0));
        // BPF_LEN is the size of seccomp_data.
        let len = vec![op(LD | W | LEN, 0, 0, 0), op(RET | RVAL_A, 0, 0, 0)];
        assert_eq!(run(&len, &data(0, [0; 6])), Some(64));
    }

    #[test]
    fn jset_jge_ja_and_running_off_the_end() {
        let p = vec![
            op(LD | W | ABS, 0, 0, 16),
            op(JMP | 0x40, 0, 1, 0x4), // arg0 & 4
            op(JMP, 0, 0, 1),          // JA +1
            op(RET, 0, 0, 1),
            op(JMP | 0x30, 0, 1, 10), // arg0 >= 10
            op(RET, 0, 0, 2),
            op(RET, 0, 0, 3),
        ];
        assert_eq!(run(&p, &data(0, [4, 0, 0, 0, 0, 0])), Some(3));
        assert_eq!(run(&p, &data(0, [12, 0, 0, 0, 0, 0])), Some(2));
        assert_eq!(run(&p, &data(0, [1, 0, 0, 0, 0, 0])), Some(1));
        assert_eq!(run(&[op(LD | W | ABS, 0, 0, 0)], &data(0, [0; 6])), None);
        assert_eq!(run(&[], &data(0, [0; 6])), None);
    }

    #[test]
    fn a_stack_takes_the_strictest_action_and_the_latest_data() {
        let d = data(39, [0; 6]);
        let errno = vec![op(RET, 0, 0, RET_ERRNO | 1)];
        let old = vec![op(RET, 0, 0, RET_TRACE | 1)];
        let new = vec![op(RET, 0, 0, RET_TRACE | 2)];
        let allow = vec![op(RET, 0, 0, RET_ALLOW)];
        let s = |v: &[&Vec<Insn>]| run_stack(v.iter().map(|p| p.as_slice()), &d);
        assert_eq!(s(&[&new, &allow, &old]), RET_TRACE | 2);
        assert_eq!(s(&[&allow, &old]), RET_TRACE | 1);
        assert_eq!(s(&[&new, &errno]), RET_ERRNO | 1);
        let kill = vec![op(RET, 0, 0, RET_KILL_PROCESS)];
        assert_eq!(s(&[&errno, &kill]), RET_KILL_PROCESS);
        assert_eq!(s(&[]), RET_ALLOW);
    }

    #[test]
    fn seccompiler_filters_answer_as_they_were_written() {
        use seccompiler::{
            BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
            SeccompFilter, SeccompRule,
        };
        let cond =
            SeccompCondition::new(1, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, 0x1_0000_0002)
                .unwrap();
        let filter = SeccompFilter::new(
            [
                (39, vec![]),
                (57, vec![SeccompRule::new(vec![cond]).unwrap()]),
            ]
            .into_iter()
            .collect(),
            SeccompAction::Allow,
            SeccompAction::Trace(9),
            seccompiler::TargetArch::x86_64,
        )
        .unwrap();
        let prog: BpfProgram = filter.try_into().unwrap();
        let prog: Vec<Insn> = prog.iter().map(|i| op(i.code, i.jt, i.jf, i.k)).collect();
        assert_eq!(run(&prog, &data(39, [0; 6])), Some(RET_TRACE | 9));
        assert_eq!(run(&prog, &data(40, [0; 6])), Some(RET_ALLOW));
        assert_eq!(
            run(&prog, &data(57, [0, 0x1_0000_0002, 0, 0, 0, 0])),
            Some(RET_TRACE | 9)
        );
        assert_eq!(
            run(&prog, &data(57, [0, 0x2_0000_0002, 0, 0, 0, 0])),
            Some(RET_ALLOW),
            "the upper half differs"
        );
        // Another architecture: seccompiler kills.
        let mut foreign = data(39, [0; 6]);
        foreign.arch = 0x4000_0003;
        assert_eq!(
            run(&prog, &foreign).map(|r| r & RET_ACTION_FULL),
            Some(RET_KILL_PROCESS)
        );
    }
}
