//! `--sysvipc`: System V IPC emulated for the guests of one run, as
//! PRoot's extension does, so that it works where the kernel has none
//! (Android) and behaves the same everywhere.
//!
//! This module is the IPC namespace: keys, ids, permissions, the objects
//! (shared memory segments in [`shm`], semaphore sets in [`sem`], message
//! queues in [`msg`]), which threads wait on which object, and what a
//! process keeps across `fork`, `execve` and its exit (shared memory
//! attachments, semaphore undo values). [`call`] decodes one guest call;
//! the tracer (`tracer/sysv.rs`) applies its [`call::Action`]: a result, a
//! wait (the thread sleeps in `ppoll` until woken by a signal sproot sends
//! and suppresses, then its call is restarted and handled again), or the
//! `openat` + `mmap` + `close` of an attach.
//!
//! Shared memory is a file in a directory of sproot's temporary directory,
//! created for the run and removed when it ends.

pub mod call;
pub mod layout;
pub mod msg;
pub mod sem;
pub mod shm;

use nix::errno::Errno;
use std::collections::HashMap;
use std::path::PathBuf;

pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;
pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
/// The flag some C libraries add to `*ctl` commands (the 64-bit layouts,
/// which are the only ones on 64-bit architectures).
pub const IPC_64: i32 = 0x100;

/// Ids are `seq * SEQ_MULTIPLIER + slot`, as Linux makes them.
const SEQ_MULTIPLIER: i32 = 32768;
/// Most objects of one kind.
const MAX_OBJECTS: usize = 32000;

/// Which kind of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Shm,
    Sem,
    Msg,
}

/// The calling thread, with the ids permission checks use (the fake ones
/// under `-0`/`-i`).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// Process (thread-group) id.
    pub pid: i32,
    pub tid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Caller {
    fn privileged(&self) -> bool {
        self.uid == 0
    }
}

/// `struct ipc_perm`'s fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// The low nine bits, plus kind-specific flags (`SHM_DEST`).
    pub mode: u32,
    pub seq: u16,
}

impl Perm {
    /// Whether `caller` may access with `flags`' low nine bits (as
    /// requested by `*get`) or with `want` (4 read, 2 write, 6 both).
    fn allows(&self, caller: &Caller, want: u32) -> bool {
        if caller.privileged() {
            return true;
        }
        let granted = if caller.uid == self.uid || caller.uid == self.cuid {
            self.mode >> 6
        } else if caller.gid == self.gid || caller.gid == self.cgid {
            self.mode >> 3
        } else {
            self.mode
        };
        want & !granted & 0o7 == 0
    }

    fn check(&self, caller: &Caller, want: u32) -> Result<(), Errno> {
        if self.allows(caller, want) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// `IPC_RMID` and `IPC_SET`: the owner, the creator or root.
    fn check_owner(&self, caller: &Caller) -> Result<(), Errno> {
        if caller.privileged() || caller.uid == self.uid || caller.uid == self.cuid {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// `IPC_SET`'s fields.
    fn set(&mut self, uid: u32, gid: u32, mode: u32) {
        self.uid = uid;
        self.gid = gid;
        self.mode = (self.mode & !0o777) | (mode & 0o777);
    }
}

/// The access `*get` asks for, as read/write bits of `want`.
fn requested(flags: i32) -> u32 {
    let f = flags as u32;
    ((f >> 6) | (f >> 3) | f) & 0o7
}

/// An object and its permissions.
pub struct Entry<T> {
    pub perm: Perm,
    pub obj: T,
}

/// The objects of one kind, by id.
pub struct Table<T> {
    slots: Vec<Option<Entry<T>>>,
    /// Each slot's sequence number, bumped when it is freed.
    seqs: Vec<u16>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
            seqs: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    fn slot_of(&self, id: i32) -> Option<usize> {
        if id < 0 {
            return None;
        }
        let slot = (id % SEQ_MULTIPLIER) as usize;
        let seq = (id / SEQ_MULTIPLIER) as u16;
        (self.seqs.get(slot) == Some(&seq) && self.slots[slot].is_some()).then_some(slot)
    }

    pub fn get(&self, id: i32) -> Result<&Entry<T>, Errno> {
        let slot = self.slot_of(id).ok_or(Errno::EINVAL)?;
        Ok(self.slots[slot].as_ref().expect("slot_of checks it"))
    }

    pub fn get_mut(&mut self, id: i32) -> Result<&mut Entry<T>, Errno> {
        let slot = self.slot_of(id).ok_or(Errno::EINVAL)?;
        Ok(self.slots[slot].as_mut().expect("slot_of checks it"))
    }

    /// `IPC_SET` of the owner and mode, by the owner, the creator or
    /// root.
    fn set_perm(
        &mut self,
        id: i32,
        (uid, gid, mode): (u32, u32, u32),
        caller: &Caller,
    ) -> Result<&mut Entry<T>, Errno> {
        let e = self.get_mut(id)?;
        e.perm.check_owner(caller)?;
        e.perm.set(uid, gid, mode);
        Ok(e)
    }

    /// The id of the live object with `key` (never `IPC_PRIVATE`).
    fn find(&self, key: i32) -> Option<i32> {
        self.slots.iter().enumerate().find_map(|(i, s)| {
            s.as_ref()
                .filter(|e| e.perm.key == key && key != IPC_PRIVATE)
                .map(|e| i as i32 + i32::from(e.perm.seq) * SEQ_MULTIPLIER)
        })
    }

    fn insert(&mut self, mut perm: Perm, obj: T) -> Result<i32, Errno> {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(s) => s,
            None if self.slots.len() < MAX_OBJECTS => {
                self.slots.push(None);
                self.seqs.push(0);
                self.slots.len() - 1
            }
            None => return Err(Errno::ENOSPC),
        };
        perm.seq = self.seqs[slot];
        self.slots[slot] = Some(Entry { perm, obj });
        Ok(slot as i32 + i32::from(perm.seq) * SEQ_MULTIPLIER)
    }

    fn remove(&mut self, id: i32) -> Option<T> {
        let slot = self.slot_of(id)?;
        self.seqs[slot] = (self.seqs[slot] + 1) % (i32::MAX / SEQ_MULTIPLIER) as u16;
        self.slots[slot].take().map(|e| e.obj)
    }

    /// Every live id.
    pub fn ids(&self) -> Vec<i32> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .map(|e| i as i32 + i32::from(e.perm.seq) * SEQ_MULTIPLIER)
            })
            .collect()
    }

    /// `*get(key, ..., flags)`: the existing object's id (checked with
    /// `fits`), or a new one made by `make`.
    fn get_or_create(
        &mut self,
        key: i32,
        flags: i32,
        caller: &Caller,
        fits: impl FnOnce(&T) -> Result<(), Errno>,
        make: impl FnOnce() -> Result<T, Errno>,
    ) -> Result<i32, Errno> {
        if key != IPC_PRIVATE
            && let Some(id) = self.find(key)
        {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let e = self.get(id)?;
            e.perm.check(caller, requested(flags))?;
            fits(&e.obj)?;
            return Ok(id);
        }
        if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        let obj = make()?;
        let perm = Perm {
            key,
            uid: caller.uid,
            gid: caller.gid,
            cuid: caller.uid,
            cgid: caller.gid,
            mode: (flags as u32) & 0o777,
            seq: 0,
        };
        self.insert(perm, obj)
    }
}

/// A thread waiting on an object.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    kind: Kind,
    id: i32,
    /// Semaphores: the one it waits on, and whether for zero.
    sem: Option<(u16, bool)>,
    /// A wake-up was sent since it started waiting.
    woken: bool,
    /// The object was removed while it waited: its call fails with `EIDRM`.
    removed: bool,
}

/// One run's IPC namespace.
pub struct SysvIpc {
    /// Where segments' files go (made when the first one is).
    dir: PathBuf,
    dir_made: bool,
    /// Segment files made so far (for their names).
    shm_files: u64,
    pub shm: Table<shm::Segment>,
    pub sem: Table<sem::SemSet>,
    pub msg: Table<msg::Queue>,
    /// Attached segments per process: (address, id).
    attachments: HashMap<i32, Vec<(u64, i32)>>,
    /// Semaphore undo values per process: (set id, semaphore) → adjustment.
    undo: HashMap<i32, HashMap<(i32, u16), i32>>,
    waiters: HashMap<i32, Waiter>,
    /// Threads whose wait was interrupted (by sproot's wake-up or a
    /// signal of theirs): no longer counted as waiting; their call, if it
    /// runs again, fails with `EIDRM` if the object was removed.
    interrupted: HashMap<i32, Waiter>,
    /// Threads to wake (their object changed), taken by the tracer.
    to_wake: Vec<i32>,
}

impl SysvIpc {
    /// A namespace whose segment files go in a new directory under `tmp`.
    pub fn new(tmp: &std::path::Path) -> Self {
        SysvIpc {
            dir: tmp.join(format!("sproot-sysvipc-{}", std::process::id())),
            dir_made: false,
            shm_files: 0,
            shm: Table::default(),
            sem: Table::default(),
            msg: Table::default(),
            attachments: HashMap::new(),
            undo: HashMap::new(),
            waiters: HashMap::new(),
            interrupted: HashMap::new(),
            to_wake: Vec::new(),
        }
    }

    /// Threads whose object changed since the last call: the tracer wakes
    /// them so that their calls run again.
    pub fn take_wakes(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.to_wake)
    }

    /// Whether any thread waits (the tracer watches for its wake signal).
    pub fn has_waiters(&self) -> bool {
        !self.waiters.is_empty()
    }

    /// `tid` no longer waits (its call timed out or failed).
    pub fn stop_waiting(&mut self, tid: i32) {
        self.waiters.remove(&tid);
        self.interrupted.remove(&tid);
    }

    /// The wait of `tid` was interrupted: its call runs again (after
    /// sproot's wake-up, or a signal without a handler) or fails with
    /// `EINTR` (a signal with one).
    pub fn interrupted(&mut self, tid: i32) {
        if let Some(w) = self.waiters.remove(&tid) {
            self.interrupted.insert(tid, w);
        }
    }

    /// `tid` is about to wait on this object.
    fn wait(&mut self, tid: i32, kind: Kind, id: i32, sem: Option<(u16, bool)>) {
        self.waiters.insert(
            tid,
            Waiter {
                kind,
                id,
                sem,
                woken: false,
                removed: false,
            },
        );
    }

    /// A call of `tid` begins: the end of any wait it was in; `EIDRM` if
    /// the object it waited on (and calls again) was removed meanwhile.
    fn resume_call(&mut self, tid: i32, kind: Kind, id: i32) -> Result<(), Errno> {
        let waited = self.waiters.remove(&tid);
        match self.interrupted.remove(&tid).or(waited) {
            Some(w) if w.removed && w.kind == kind && w.id == id => Err(Errno::EIDRM),
            _ => Ok(()),
        }
    }

    /// The object changed: wake every thread waiting on it.
    fn changed(&mut self, kind: Kind, id: i32) {
        for (tid, w) in self.waiters.iter_mut() {
            if w.kind == kind && w.id == id && !w.woken {
                w.woken = true;
                self.to_wake.push(*tid);
            }
        }
    }

    /// The object is gone: its waiters wake to `EIDRM`.
    fn removed(&mut self, kind: Kind, id: i32) {
        for w in self
            .waiters
            .values_mut()
            .chain(self.interrupted.values_mut())
        {
            if w.kind == kind && w.id == id {
                w.removed = true;
            }
        }
        self.changed(kind, id);
    }

    /// Threads waiting on semaphore `num` of set `id` for an increase
    /// (`zero` false) or for zero.
    fn sem_waiters(&self, id: i32, num: u16, zero: bool) -> usize {
        self.waiters
            .values()
            .filter(|w| w.kind == Kind::Sem && w.id == id && w.sem == Some((num, zero)))
            .count()
    }

    /// The directory segment files go in, made on first use.
    fn dir(&mut self) -> Result<&std::path::Path, Errno> {
        if !self.dir_made {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| {
                    log::warn!("--sysvipc: cannot create {}: {e}", self.dir.display());
                    Errno::ENOSPC
                })?;
            self.dir_made = true;
        }
        Ok(&self.dir)
    }

    /// A new process `child` made by `parent` (not a thread): it inherits
    /// the parent's attachments.
    pub fn forked(&mut self, parent: i32, child: i32) {
        let Some(list) = self.attachments.get(&parent).cloned() else {
            return;
        };
        for (_, id) in &list {
            if let Ok(e) = self.shm.get_mut(*id) {
                e.obj.nattch += 1;
            }
        }
        self.attachments.insert(child, list);
    }

    /// Whether process `pid` has anything a fork passes on.
    pub fn has_attachments(&self, pid: i32) -> bool {
        self.attachments.contains_key(&pid)
    }

    /// Process `pid` ran `execve`: its attachments are gone (its undo
    /// values stay, as the kernel keeps them).
    pub fn exec(&mut self, pid: i32) {
        self.detach_all(pid);
    }

    /// Thread `tid` is gone; if it was process `tid`'s last, the process's
    /// attachments are detached and its semaphore undo values applied.
    pub fn gone(&mut self, tid: i32) {
        self.stop_waiting(tid);
        self.detach_all(tid);
        if let Some(adj) = self.undo.remove(&tid) {
            sem::apply_undo(self, tid, adj);
        }
    }

    fn detach_all(&mut self, pid: i32) {
        for (addr, _) in self.attachments.get(&pid).cloned().unwrap_or_default() {
            let _ = self.detached(pid, addr);
        }
    }

    /// Remove every file of the run.
    fn clean_up(&mut self) {
        if self.dir_made {
            let _ = std::fs::remove_dir_all(&self.dir);
            self.dir_made = false;
        }
    }
}

impl Drop for SysvIpc {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// Seconds since the epoch, for the `*_time` fields.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests;
