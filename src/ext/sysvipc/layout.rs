//! The `*ctl` structures as the guest's kernel lays them out (the 64-bit
//! `ipc64_perm`, `shmid64_ds`, `semid64_ds`, `msqid64_ds`), written for
//! `IPC_STAT` and read for `IPC_SET`.

use super::Perm;
use super::msg::Queue;
use super::sem::SemSet;
use super::shm::Segment;

/// `struct ipc64_perm`'s size.
pub const PERM_LEN: usize = 48;
pub const SHMID_DS_LEN: usize = 112;
/// `struct semid64_ds`: x86_64 keeps a padding word after each time.
#[cfg(target_arch = "x86_64")]
pub const SEMID_DS_LEN: usize = 104;
#[cfg(not(target_arch = "x86_64"))]
pub const SEMID_DS_LEN: usize = 88;
pub const MSQID_DS_LEN: usize = 120;
/// `msg_qbytes`' offset in `struct msqid64_ds`.
const MSG_QBYTES: usize = 88;

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn perm(b: &mut [u8], p: &Perm) {
    put(b, 0, &p.key.to_ne_bytes());
    put(b, 4, &p.uid.to_ne_bytes());
    put(b, 8, &p.gid.to_ne_bytes());
    put(b, 12, &p.cuid.to_ne_bytes());
    put(b, 16, &p.cgid.to_ne_bytes());
    put(b, 20, &p.mode.to_ne_bytes());
    put(b, 24, &p.seq.to_ne_bytes());
}

/// `IPC_SET`'s fields from the structure's `ipc64_perm`: uid, gid, mode.
pub fn perm_set(b: &[u8]) -> (u32, u32, u32) {
    (u32_at(b, 4), u32_at(b, 8), u32_at(b, 20) & 0o777)
}

/// `IPC_SET` of a queue: its new capacity.
pub fn msg_qbytes(b: &[u8]) -> usize {
    u64::from_ne_bytes(b[MSG_QBYTES..MSG_QBYTES + 8].try_into().expect("8 bytes")) as usize
}

pub fn shmid_ds(p: &Perm, s: &Segment) -> Vec<u8> {
    let mut b = vec![0u8; SHMID_DS_LEN];
    perm(&mut b, p);
    put(&mut b, 48, &s.size.to_ne_bytes());
    put(&mut b, 56, &s.atime.to_ne_bytes());
    put(&mut b, 64, &s.dtime.to_ne_bytes());
    put(&mut b, 72, &s.ctime.to_ne_bytes());
    put(&mut b, 80, &s.cpid.to_ne_bytes());
    put(&mut b, 84, &s.lpid.to_ne_bytes());
    put(&mut b, 88, &s.nattch.to_ne_bytes());
    b
}

pub fn semid_ds(p: &Perm, s: &SemSet) -> Vec<u8> {
    let mut b = vec![0u8; SEMID_DS_LEN];
    perm(&mut b, p);
    let nsems = s.sems.len() as u64;
    #[cfg(target_arch = "x86_64")]
    let (otime, ctime, n) = (48, 64, 80);
    #[cfg(not(target_arch = "x86_64"))]
    let (otime, ctime, n) = (48, 56, 64);
    put(&mut b, otime, &s.otime.to_ne_bytes());
    put(&mut b, ctime, &s.ctime.to_ne_bytes());
    put(&mut b, n, &nsems.to_ne_bytes());
    b
}

pub fn msqid_ds(p: &Perm, q: &Queue) -> Vec<u8> {
    let mut b = vec![0u8; MSQID_DS_LEN];
    perm(&mut b, p);
    put(&mut b, 48, &q.stime.to_ne_bytes());
    put(&mut b, 56, &q.rtime.to_ne_bytes());
    put(&mut b, 64, &q.ctime.to_ne_bytes());
    put(&mut b, 72, &(q.cbytes as u64).to_ne_bytes());
    put(&mut b, 80, &(q.qnum() as u64).to_ne_bytes());
    put(&mut b, MSG_QBYTES, &(q.qbytes as u64).to_ne_bytes());
    put(&mut b, 96, &q.lspid.to_ne_bytes());
    put(&mut b, 100, &q.lrpid.to_ne_bytes());
    b
}
