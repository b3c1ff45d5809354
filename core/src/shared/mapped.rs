//! The run's shared state in memory every guest process maps (a file the
//! launcher creates and sizes, `MAP_SHARED`): for the in-process engine,
//! whose translations run in many processes at once. No locks: the owners
//! are an open-addressed table whose slots are claimed with a
//! compare-and-swap; the kept extended attributes are an append-only log
//! read back in order; the `uname` names sit behind a sequence count.
//!
//! The layout, in 64-bit words from the start of the mapping:
//! * word 0: the count of changes to the guest's names (directory caches);
//! * [`UNAME_SEQ`] and the six `uname` fields after it;
//! * [`XATTR_END`]: the log's end, in words from [`XATTR_AT`];
//! * [`OWNERS_AT`]: [`OWNER_SLOTS`] slots of four words (state, device,
//!   inode, uid << 32 | gid);
//! * [`XATTR_AT`]: the log, [`XATTR_WORDS`] words;
//! * [`PORTS_AT`]: `-n`'s moved ports, one word per port asked for (0:
//!   not moved);
//! * [`EXES_AT`]: the program each guest process runs, by process id:
//!   [`EXE_SLOTS`] slots of three words (the id; the process's start
//!   time, which tells a later process with the same id; where its host
//!   path is in the log after them, published last), then the paths' log
//!   ([`EXE_LOG_WORDS`] words, its end at [`EXE_LOG_END`]).
//!
//! The file is sparse: only the pages a run touches take room.

use super::SharedState;
use crate::Errno;
use crate::ext::fake_xattr::{FakeXattrs, FileKey};
use crate::ext::kernel_release::Uname;
use crate::prelude::*;
use core::sync::atomic::{AtomicU64, Ordering};

/// The word that counts changes to the guest's names.
pub const GENERATION: usize = 0;
/// `--stats`: the counts of translated calls and of execs.
const TRAPS: usize = 2;
const EXECS: usize = 3;
/// One bit per message said once a run ([`MappedState::first_notice`]).
const NOTICES: usize = 4;
/// The end of the programs' log, in words from its start.
const EXE_LOG_END: usize = 5;
/// The launcher's process id, which guest processes that need a tracer
/// ask ([`MappedState::ask_tracer`]).
const LAUNCHER: usize = 6;
/// The `uname` fields' sequence count: odd while a writer is at work.
const UNAME_SEQ: usize = 8;
/// Six fields of [`FIELD_WORDS`] words: a length (`u64::MAX`: the host's
/// value) and up to 64 bytes.
const UNAME_AT: usize = 9;
const FIELD_WORDS: usize = 10;
/// Requests for a tracer: slots of two words, the asking thread's id with
/// the request's state in the high half, and the address of its data.
const TRACER_AT: usize = 80;
pub const TRACER_SLOTS: usize = 16;
/// The end of the attribute log, in words.
const XATTR_END: usize = 128;
/// Where the owners' table starts.
pub const OWNERS_AT: usize = 1024;
/// Slots of the owners' table (a power of two).
pub const OWNER_SLOTS: usize = 1 << 20;
const SLOT_WORDS: usize = 4;
/// Where the attribute log starts, and its size.
pub const XATTR_AT: usize = OWNERS_AT + OWNER_SLOTS * SLOT_WORDS;
pub const XATTR_WORDS: usize = 1 << 19;
/// Where `-n`'s moved ports start.
pub const PORTS_AT: usize = XATTR_AT + XATTR_WORDS;
/// Where the programs of the guest processes start: the slots, then the
/// log of their host paths.
pub const EXES_AT: usize = PORTS_AT + 65536;
/// Slots of the programs' table (a power of two).
pub const EXE_SLOTS: usize = 1 << 14;
const EXE_SLOT_WORDS: usize = 3;
const EXE_LOG_AT: usize = EXES_AT + EXE_SLOTS * EXE_SLOT_WORDS;
pub const EXE_LOG_WORDS: usize = 1 << 20;
/// The size of the mapping, in bytes.
pub const BYTES: usize = (EXE_LOG_AT + EXE_LOG_WORDS) * 8;

/// A tracer request's state (the high half of its first word).
const TRACER_STATE: u64 = 0xffff_ffff << 32;
const TRACER_FILLING: u64 = 1 << 32;
const TRACER_ASKED: u64 = 2 << 32;
const TRACER_TAKEN: u64 = 3 << 32;
const TRACER_TRACED: u64 = 4 << 32;
const TRACER_REFUSED: u64 = 5 << 32;

/// A slot's state: free, being filled, holding an owner.
const FREE: u64 = 0;
const BUSY: u64 = 1;
const READY: u64 = 2;

/// A log record's kind, in its length word's top bits.
const REMOVED: u64 = 1 << 63;

/// The state in a shared mapping of [`BYTES`] bytes.
pub struct MappedState<'a> {
    words: &'a [AtomicU64],
}

impl<'a> MappedState<'a> {
    /// The state in `words` (at least `BYTES / 8` of them, zeroed when
    /// the run starts; `None` if fewer).
    pub fn new(words: &'a [AtomicU64]) -> Option<Self> {
        (words.len() >= BYTES / 8).then_some(MappedState { words })
    }

    /// Set the `uname` fields a run starts with (`-k`); by the launcher,
    /// before any guest runs.
    pub fn init_uname(&self, u: &Uname) {
        self.write_uname(u);
    }

    /// The count of changes to the guest's names.
    pub fn generation(&self) -> &'a AtomicU64 {
        &self.words[GENERATION]
    }

    /// `--stats`: one more translated call (`exec`: an `execve`).
    pub fn count_trap(&self, exec: bool) {
        self.w(TRAPS).fetch_add(1, Ordering::Relaxed);
        if exec {
            self.w(EXECS).fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether this is the run's first use of notice `bit` (a message a
    /// run says once, whichever guest process meets it first).
    pub fn first_notice(&self, bit: u32) -> bool {
        let b = 1u64 << (bit % 64);
        self.w(NOTICES).fetch_or(b, Ordering::Relaxed) & b == 0
    }

    /// Process `pid` runs, from time `since` on (its `execve`, in the unit of
    /// the kernel's start times: clock ticks of `CLOCK_BOOTTIME`), the
    /// program at host path `exe`: what `/proc/<pid>/exe` shows other guest
    /// processes. Nothing is kept once the table or its log is full.
    pub fn set_exe(&self, pid: i32, since: u64, exe: &[u8]) {
        let words = exe.len().div_ceil(8);
        if pid <= 0 || exe.is_empty() || exe.len() >= 1 << 24 {
            return;
        }
        let Some(slot) = self.exe_slot(pid, true) else {
            return;
        };
        let at = self
            .w(EXE_LOG_END)
            .fetch_add(words as u64, Ordering::Relaxed) as usize;
        if at + words > EXE_LOG_WORDS {
            return;
        }
        put_bytes(&self.words[EXE_LOG_AT + at..EXE_LOG_AT + at + words], exe);
        let place = (at as u64) << 24 | exe.len() as u64;
        // Not read as a pair under a lock: a reader that meets a time and
        // a place of two writers finds no program (the time is checked
        // again after).
        self.w(slot + 1).store(since, Ordering::Release);
        self.w(slot + 2).store(place, Ordering::Release);
    }

    /// The host path of the program process `pid`, started at `start`
    /// (the kernel's start time, `/proc/<pid>/stat`'s 22nd field), runs,
    /// if recorded: by an `execve` of this process (at or after its
    /// start), not of an earlier process with the same id (before it: a
    /// `fork` child before its own `execve`). An id reused within the
    /// same clock tick would pass for its former process.
    pub fn exe(&self, pid: i32, start: u64) -> Option<Vec<u8>> {
        let slot = self.exe_slot(pid, false)?;
        let recorded = self.w(slot + 1).load(Ordering::Acquire);
        if recorded < start {
            return None;
        }
        let place = self.w(slot + 2).load(Ordering::Acquire);
        let (at, len) = ((place >> 24) as usize, (place & 0xff_ffff) as usize);
        if len == 0 || at + len.div_ceil(8) > EXE_LOG_WORDS {
            return None;
        }
        let path = get_bytes(&self.words[EXE_LOG_AT + at..], len);
        (self.w(slot + 1).load(Ordering::Acquire) == recorded).then_some(path)
    }

    /// The first word of `pid`'s slot in the programs' table; a free one
    /// is claimed for it when `claim`.
    fn exe_slot(&self, pid: i32, claim: bool) -> Option<usize> {
        let key = pid as u64;
        let start = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize;
        for probe in 0..EXE_SLOTS {
            let slot = EXES_AT + EXE_SLOT_WORDS * ((start + probe) & (EXE_SLOTS - 1));
            let k = self.w(slot);
            match k.load(Ordering::Acquire) {
                x if x == key => return Some(slot),
                0 if !claim => return None,
                0 => match k.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return Some(slot),
                    Err(x) if x == key => return Some(slot),
                    Err(_) => {}
                },
                _ => {}
            }
        }
        None
    }

    /// `--stats`: the translated calls and the execs counted so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.w(TRAPS).load(Ordering::Relaxed),
            self.w(EXECS).load(Ordering::Relaxed),
        )
    }

    fn w(&self, i: usize) -> &AtomicU64 {
        &self.words[i]
    }

    /// The launcher, by the launcher, before any guest runs.
    pub fn set_launcher(&self, pid: i32) {
        self.w(LAUNCHER).store(pid as u64, Ordering::Release);
    }

    /// The launcher's process id (0: none serves requests).
    pub fn launcher(&self) -> i32 {
        self.w(LAUNCHER).load(Ordering::Acquire) as i32
    }

    /// Thread `tid` asks to be traced, with `data` (an address in its own
    /// memory the launcher reads): the slot it waits on, `None` if every
    /// slot is taken.
    pub fn ask_tracer(&self, tid: i32, data: u64) -> Option<usize> {
        let tid = u64::from(tid as u32);
        (0..TRACER_SLOTS).find(|&i| {
            let w = self.w(TRACER_AT + 2 * i);
            if w.compare_exchange(0, tid | TRACER_FILLING, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                return false;
            }
            self.w(TRACER_AT + 2 * i + 1).store(data, Ordering::Release);
            w.store(tid | TRACER_ASKED, Ordering::Release);
            true
        })
    }

    /// The launcher's answer in `slot`: `None` while it has not given one.
    /// The slot is free again once the answer is read.
    pub fn tracer_answer(&self, slot: usize) -> Option<bool> {
        let w = self.w(TRACER_AT + 2 * slot);
        let state = w.load(Ordering::Acquire) & TRACER_STATE;
        let answer = match state {
            TRACER_TRACED => true,
            TRACER_REFUSED => false,
            _ => return None,
        };
        w.store(0, Ordering::Release);
        Some(answer)
    }

    /// The requests asked and not yet taken, taken now: (slot, thread id,
    /// data address) each; by the launcher.
    pub fn take_tracer_requests(&self) -> Vec<(usize, i32, u64)> {
        let mut out = Vec::new();
        for i in 0..TRACER_SLOTS {
            let w = self.w(TRACER_AT + 2 * i);
            let v = w.load(Ordering::Acquire);
            if v & TRACER_STATE != TRACER_ASKED {
                continue;
            }
            let taken = (v & !TRACER_STATE) | TRACER_TAKEN;
            if w.compare_exchange(v, taken, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                let data = self.w(TRACER_AT + 2 * i + 1).load(Ordering::Acquire);
                out.push((i, (v & 0xffff_ffff) as u32 as i32, data));
            }
        }
        out
    }

    /// Take back the request in `slot` if the launcher has not taken it
    /// yet: whether it was taken back (the slot is free again).
    pub fn cancel_tracer(&self, slot: usize) -> bool {
        let w = self.w(TRACER_AT + 2 * slot);
        let v = w.load(Ordering::Acquire);
        v & TRACER_STATE == TRACER_ASKED
            && w.compare_exchange(v, 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    /// Whether a request waits to be taken.
    pub fn has_tracer_requests(&self) -> bool {
        (0..TRACER_SLOTS).any(|i| {
            self.w(TRACER_AT + 2 * i).load(Ordering::Acquire) & TRACER_STATE == TRACER_ASKED
        })
    }

    /// The launcher's answer to the request in `slot`: traced or not.
    pub fn answer_tracer(&self, slot: usize, traced: bool) {
        let w = self.w(TRACER_AT + 2 * slot);
        let v = w.load(Ordering::Acquire) & !TRACER_STATE;
        let state = if traced {
            TRACER_TRACED
        } else {
            TRACER_REFUSED
        };
        w.store(v | state, Ordering::Release);
    }

    fn write_uname(&self, u: &Uname) {
        let seq = self.w(UNAME_SEQ);
        // Claim the writer's turn: the count from even to odd.
        loop {
            let s = seq.load(Ordering::Acquire);
            if s & 1 == 0
                && seq
                    .compare_exchange(s, s + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                break;
            }
            core::hint::spin_loop();
        }
        for (i, f) in u.fields().into_iter().enumerate() {
            let at = UNAME_AT + i * FIELD_WORDS;
            match f {
                None => self.w(at).store(u64::MAX, Ordering::Relaxed),
                Some(v) => {
                    let v = &v[..v.len().min((FIELD_WORDS - 1) * 8)];
                    self.w(at).store(v.len() as u64, Ordering::Relaxed);
                    put_bytes(&self.words[at + 1..at + FIELD_WORDS], v);
                }
            }
        }
        seq.fetch_add(1, Ordering::Release);
    }

    fn read_uname(&self) -> Uname {
        let seq = self.w(UNAME_SEQ);
        loop {
            let before = seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                core::hint::spin_loop();
                continue;
            }
            let mut out: [Option<Vec<u8>>; 6] = Default::default();
            for (i, o) in out.iter_mut().enumerate() {
                let at = UNAME_AT + i * FIELD_WORDS;
                let len = self.w(at).load(Ordering::Relaxed);
                if len as usize <= (FIELD_WORDS - 1) * 8 {
                    *o = Some(get_bytes(
                        &self.words[at + 1..at + FIELD_WORDS],
                        len as usize,
                    ));
                }
            }
            if seq.load(Ordering::Acquire) == before {
                return Uname::from_fields(out);
            }
        }
    }

    /// The slot of `file`, claimed for it if `claim` and it has none:
    /// its first word's index.
    fn owner_slot(&self, file: FileKey, claim: bool) -> Option<usize> {
        let mut i = hash(file) as usize & (OWNER_SLOTS - 1);
        for _ in 0..OWNER_SLOTS {
            let at = OWNERS_AT + i * SLOT_WORDS;
            let state = self.w(at);
            loop {
                match state.load(Ordering::Acquire) {
                    FREE => {
                        if !claim {
                            return None;
                        }
                        if state
                            .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Relaxed)
                            .is_ok()
                        {
                            self.w(at + 1).store(file.0, Ordering::Relaxed);
                            self.w(at + 2).store(file.1, Ordering::Relaxed);
                            return Some(at);
                        }
                    }
                    // Another process fills it: its file may be this one.
                    BUSY => core::hint::spin_loop(),
                    _ => break,
                }
            }
            if self.w(at + 1).load(Ordering::Relaxed) == file.0
                && self.w(at + 2).load(Ordering::Relaxed) == file.1
            {
                return Some(at);
            }
            i = (i + 1) & (OWNER_SLOTS - 1);
        }
        None
    }

    /// The kept attributes of `file`, replayed from the log.
    fn xattrs_of(&self, file: FileKey) -> FakeXattrs {
        let mut x = FakeXattrs::default();
        let end = (self.w(XATTR_END).load(Ordering::Acquire) as usize).min(XATTR_WORDS);
        let mut at = 0;
        while at < end {
            let head = XATTR_AT + at;
            // A record's first word is its size, written last.
            let size = loop {
                match self.w(head).load(Ordering::Acquire) {
                    0 => core::hint::spin_loop(),
                    s => break s as usize,
                }
            };
            let lens = self.w(head + 3).load(Ordering::Relaxed);
            if (
                self.w(head + 1).load(Ordering::Relaxed),
                self.w(head + 2).load(Ordering::Relaxed),
            ) == file
            {
                let name_len = (lens & 0xffff_ffff) as usize;
                let value_len = ((lens >> 32) & 0x7fff_ffff) as usize;
                let body = get_bytes(&self.words[head + 4..head + size], name_len + value_len);
                let (name, value) = body.split_at(name_len);
                if lens & REMOVED != 0 {
                    let _ = x.remove(file, name);
                } else {
                    let _ = x.set(file, name, value, 0);
                }
            }
            at += size;
        }
        x
    }

    /// Add a record to the log (`ENOSPC`: the log is full).
    fn append(&self, file: FileKey, name: &[u8], value: &[u8], removed: bool) -> Result<(), Errno> {
        let size = 4 + (name.len() + value.len()).div_ceil(8);
        let at = self.w(XATTR_END).fetch_add(size as u64, Ordering::AcqRel) as usize;
        if at + size > XATTR_WORDS {
            return Err(Errno::ENOSPC);
        }
        let head = XATTR_AT + at;
        self.w(head + 1).store(file.0, Ordering::Relaxed);
        self.w(head + 2).store(file.1, Ordering::Relaxed);
        let lens =
            name.len() as u64 | (value.len() as u64) << 32 | if removed { REMOVED } else { 0 };
        self.w(head + 3).store(lens, Ordering::Relaxed);
        let mut body = Vec::with_capacity(name.len() + value.len());
        body.extend_from_slice(name);
        body.extend_from_slice(value);
        put_bytes(&self.words[head + 4..head + size], &body);
        self.w(head).store(size as u64, Ordering::Release);
        Ok(())
    }
}

/// A file's place in the owners' table.
fn hash((dev, ino): FileKey) -> u64 {
    (ino ^ dev.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20
}

fn put_bytes(words: &[AtomicU64], b: &[u8]) {
    for (w, c) in words.iter().zip(b.chunks(8)) {
        let mut x = [0u8; 8];
        x[..c.len()].copy_from_slice(c);
        w.store(u64::from_le_bytes(x), Ordering::Relaxed);
    }
}

fn get_bytes(words: &[AtomicU64], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    for w in words {
        if out.len() >= len {
            break;
        }
        out.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    out.truncate(len);
    out
}

impl SharedState for MappedState<'_> {
    fn owner(&self, file: FileKey) -> Option<(u32, u32)> {
        let at = self.owner_slot(file, false)?;
        // A slot just claimed has no owner yet: none, as before the call.
        if self.w(at).load(Ordering::Acquire) != READY {
            return None;
        }
        let o = self.w(at + 3).load(Ordering::Relaxed);
        Some(((o >> 32) as u32, o as u32))
    }

    fn set_owner(&self, file: FileKey, owner: (u32, u32)) {
        let Some(at) = self.owner_slot(file, true) else {
            log::warn!("fake root: no room left to record more owners");
            return;
        };
        let o = u64::from(owner.0) << 32 | u64::from(owner.1);
        self.w(at + 3).store(o, Ordering::Relaxed);
        self.w(at).store(READY, Ordering::Release);
    }

    fn xattr_set(&self, file: FileKey, name: &[u8], value: &[u8], flags: u32) -> Result<(), Errno> {
        // The flags' verdict on what the log holds, then the record.
        self.xattrs_of(file).set(file, name, value, flags)?;
        self.append(file, name, value, false)
    }

    fn xattr_get(&self, file: FileKey, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.xattrs_of(file).get(file, name).map(<[u8]>::to_vec)
    }

    fn xattr_remove(&self, file: FileKey, name: &[u8]) -> Result<(), Errno> {
        self.xattrs_of(file).remove(file, name)?;
        self.append(file, name, &[], true)
    }

    fn xattr_has_any(&self, file: FileKey) -> bool {
        self.w(XATTR_END).load(Ordering::Relaxed) != 0 && self.xattrs_of(file).has_any(file)
    }

    fn xattr_list(&self, file: FileKey, kernel: &[u8]) -> Result<Vec<u8>, Errno> {
        self.xattrs_of(file).list(file, kernel)
    }

    fn uname(&self) -> Uname {
        self.read_uname()
    }

    fn set_nodename(&self, name: &[u8]) -> Result<(), Errno> {
        let mut u = self.read_uname();
        u.set_nodename(name)?;
        self.write_uname(&u);
        Ok(())
    }

    fn set_domainname(&self, name: &[u8]) -> Result<(), Errno> {
        let mut u = self.read_uname();
        u.set_domainname(name)?;
        self.write_uname(&u);
        Ok(())
    }

    fn port_target(&self, port: u16) -> u16 {
        match self.w(PORTS_AT + usize::from(port)).load(Ordering::Acquire) {
            0 => port,
            got => got as u16,
        }
    }

    fn port_moved(&self, asked: u16, got: u16) {
        self.w(PORTS_AT + usize::from(asked))
            .store(u64::from(got), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroed() -> Vec<AtomicU64> {
        (0..BYTES / 8).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn programs_read_back_by_process_and_start_time() {
        let words = zeroed();
        let s = MappedState::new(&words).unwrap();
        assert_eq!(s.exe(42, 7), None);
        s.set_exe(42, 7, b"/r/usr/bin/dash");
        s.set_exe(43, 9, b"/r/usr/bin/sleep");
        assert_eq!(s.exe(42, 7).as_deref(), Some(&b"/r/usr/bin/dash"[..]));
        assert_eq!(s.exe(43, 9).as_deref(), Some(&b"/r/usr/bin/sleep"[..]));
        // A process started later with the same id (a fork child before
        // its execve): not its program.
        assert_eq!(s.exe(42, 8), None);
        // Its own execve: its program from then on; the same tick counts.
        s.set_exe(42, 8, b"/r/bin/x");
        assert_eq!(s.exe(42, 8).as_deref(), Some(&b"/r/bin/x"[..]));
        s.set_exe(42, 11, b"/r/bin/y");
        assert_eq!(s.exe(42, 8).as_deref(), Some(&b"/r/bin/y"[..]));
        assert_eq!(s.exe(42, 12), None);
        // Many processes: each keeps its own.
        for pid in 100..3000 {
            s.set_exe(pid, 1, format!("/p/{pid}").as_bytes());
        }
        for pid in 100..3000 {
            assert_eq!(s.exe(pid, 1), Some(format!("/p/{pid}").into_bytes()));
        }
    }

    #[test]
    fn tracer_requests_are_taken_once_and_answered_to_their_slot() {
        let words = zeroed();
        let s = MappedState::new(&words).unwrap();
        assert_eq!(s.launcher(), 0);
        s.set_launcher(77);
        assert_eq!(s.launcher(), 77);
        let a = s.ask_tracer(1001, 0x1000).unwrap();
        let b = s.ask_tracer(1002, 0x2000).unwrap();
        assert_ne!(a, b);
        assert_eq!(s.tracer_answer(a), None);
        assert!(s.has_tracer_requests());
        let mut taken = s.take_tracer_requests();
        taken.sort();
        assert_eq!(taken, vec![(a, 1001, 0x1000), (b, 1002, 0x2000)]);
        // Taken once: not again while unanswered.
        assert!(s.take_tracer_requests().is_empty());
        assert!(!s.has_tracer_requests());
        // Taken: too late to take back.
        assert!(!s.cancel_tracer(a));
        assert_eq!(s.tracer_answer(a), None);
        s.answer_tracer(a, true);
        s.answer_tracer(b, false);
        assert_eq!(s.tracer_answer(b), Some(false));
        assert_eq!(s.tracer_answer(a), Some(true));
        // Read answers free their slots: every slot can be asked again.
        let all: Vec<usize> = (0..TRACER_SLOTS)
            .map(|i| s.ask_tracer(i as i32 + 1, 0).unwrap())
            .collect();
        assert_eq!(all.len(), TRACER_SLOTS);
        assert_eq!(s.ask_tracer(99, 0), None);
        // Not taken yet: taken back, and the slot is free.
        assert!(s.cancel_tracer(all[3]));
        assert!(s.take_tracer_requests().iter().all(|r| r.0 != all[3]));
        assert_eq!(s.ask_tracer(99, 0), Some(all[3]));
    }

    #[test]
    fn owners_read_back_and_collisions_keep_apart() {
        let words = zeroed();
        let s = MappedState::new(&words).unwrap();
        assert_eq!(s.owner((1, 2)), None);
        s.set_owner((1, 2), (0, 42));
        s.set_owner((1, 2), (7, 8));
        assert_eq!(s.owner((1, 2)), Some((7, 8)));
        // Many files: each keeps its own owner.
        for ino in 0..5000u64 {
            s.set_owner((3, ino), (ino as u32, 1));
        }
        for ino in 0..5000u64 {
            assert_eq!(s.owner((3, ino)), Some((ino as u32, 1)));
        }
        assert_eq!(s.owner((4, 0)), None);
        assert!(MappedState::new(&words[..10]).is_none());
    }

    #[test]
    fn attributes_follow_the_kernel_rules_through_the_log() {
        let words = zeroed();
        let s: &dyn SharedState = &MappedState::new(&words).unwrap();
        let f = (1, 2);
        assert!(!s.xattr_has_any(f));
        s.xattr_set(f, b"security.capability", b"\x01\x02\x03", 0)
            .unwrap();
        assert_eq!(
            s.xattr_set(f, b"security.capability", b"x", 1),
            Err(Errno::EEXIST)
        );
        assert_eq!(s.xattr_set(f, b"trusted.b", b"x", 2), Err(Errno::ENODATA));
        assert_eq!(
            s.xattr_get(f, b"security.capability").unwrap(),
            b"\x01\x02\x03"
        );
        assert!(s.xattr_has_any(f));
        assert!(!s.xattr_has_any((1, 3)));
        assert_eq!(
            s.xattr_list(f, b"user.k\0").unwrap(),
            b"user.k\0security.capability\0"
        );
        s.xattr_remove(f, b"security.capability").unwrap();
        assert_eq!(
            s.xattr_remove(f, b"security.capability"),
            Err(Errno::ENODATA)
        );
        assert!(!s.xattr_has_any(f));
    }

    #[test]
    fn uname_starts_as_given_and_takes_a_fake_roots_names() {
        let words = zeroed();
        let s = MappedState::new(&words).unwrap();
        s.init_uname(&Uname {
            release: Some(b"6.17.0".to_vec()),
            ..Default::default()
        });
        s.set_nodename(b"box").unwrap();
        let u = s.uname();
        assert_eq!(u.nodename.as_deref(), Some(&b"box"[..]));
        assert_eq!(u.release.as_deref(), Some(&b"6.17.0"[..]));
        assert_eq!(u.sysname, None);
        assert_eq!(s.port_target(80), 80);
        s.port_moved(80, 8080);
        assert_eq!(s.port_target(80), 8080);
        assert_eq!(s.port_target(81), 81);
        s.count_trap(false);
        s.count_trap(true);
        assert_eq!(s.counts(), (2, 1));
    }
}
