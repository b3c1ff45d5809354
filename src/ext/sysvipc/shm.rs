//! Shared memory segments: each is a file under the run's directory, which
//! an attach maps (`MAP_SHARED`) into the guest process, so every guest
//! that attaches it shares the same pages.

use super::{Caller, Entry, IPC_PRIVATE, SysvIpc, now};
use nix::errno::Errno;
use std::path::PathBuf;

pub const SHM_RDONLY: i32 = 0o10000;
pub const SHM_RND: i32 = 0o20000;
pub const SHM_REMAP: i32 = 0o40000;
pub const SHM_EXEC: i32 = 0o100000;
/// In `shm_perm.mode`: removed, destroyed at its last detach.
pub const SHM_DEST: u32 = 0o1000;
/// Largest segment (the kernel's default `shmmax`).
pub const SHMMAX: u64 = u64::MAX - (1 << 24);

pub struct Segment {
    pub size: u64,
    pub file: PathBuf,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
}

/// What an attach maps: the guest opens `file`, maps it and closes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attach {
    pub id: i32,
    pub file: PathBuf,
    pub size: u64,
    /// The address asked for (0: the kernel's choice).
    pub addr: u64,
    pub readonly: bool,
    pub exec: bool,
    /// `SHM_REMAP`: replace what is mapped there.
    pub remap: bool,
}

/// The segments' alignment (`SHMLBA`).
pub fn shmlba() -> u64 {
    // SAFETY: sysconf only reads a system value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 { page as u64 } else { 4096 }
}

impl SysvIpc {
    pub fn shmget(
        &mut self,
        key: i32,
        size: u64,
        flags: i32,
        caller: &Caller,
    ) -> Result<i32, Errno> {
        let dir = if key == IPC_PRIVATE || self.shm.find(key).is_none() {
            Some(self.dir()?.to_path_buf())
        } else {
            None
        };
        self.shm_files += 1;
        let n = self.shm_files;
        self.shm.get_or_create(
            key,
            flags,
            caller,
            |s| {
                if size > s.size {
                    Err(Errno::EINVAL)
                } else {
                    Ok(())
                }
            },
            || {
                if !(1..=SHMMAX).contains(&size) {
                    return Err(Errno::EINVAL);
                }
                let file = dir.ok_or(Errno::EINVAL)?.join(format!("shm-{n}"));
                make_file(&file, size)?;
                Ok(Segment {
                    size,
                    file,
                    atime: 0,
                    dtime: 0,
                    ctime: now(),
                    cpid: caller.pid,
                    lpid: 0,
                    nattch: 0,
                })
            },
        )
    }

    /// `shmat(id, addr, flags)`: what to map, checked.
    pub fn shmat(&self, id: i32, addr: u64, flags: i32, caller: &Caller) -> Result<Attach, Errno> {
        let e = self.shm.get(id)?;
        let readonly = flags & SHM_RDONLY != 0;
        e.perm.check(caller, if readonly { 4 } else { 6 })?;
        let lba = shmlba();
        let addr = if !addr.is_multiple_of(lba) {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr & !(lba - 1)
        } else {
            addr
        };
        if addr == 0 && flags & SHM_REMAP != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Attach {
            id,
            file: e.obj.file.clone(),
            size: e.obj.size,
            addr,
            readonly,
            exec: flags & SHM_EXEC != 0,
            remap: flags & SHM_REMAP != 0,
        })
    }

    /// Segment `id` was mapped at `addr` in process `pid`.
    pub fn attached(&mut self, pid: i32, addr: u64, id: i32) {
        if let Ok(e) = self.shm.get_mut(id) {
            e.obj.nattch += 1;
            e.obj.atime = now();
            e.obj.lpid = pid;
            self.attachments.entry(pid).or_default().push((addr, id));
        }
    }

    /// `shmdt(addr)`: the address and length to unmap.
    pub fn shmdt(&self, pid: i32, addr: u64) -> Result<(u64, u64), Errno> {
        let id = self
            .attachments
            .get(&pid)
            .and_then(|l| l.iter().find(|(a, _)| *a == addr))
            .map(|(_, id)| *id)
            .ok_or(Errno::EINVAL)?;
        let size = self.shm.get(id).map_or(shmlba(), |e| e.obj.size);
        Ok((addr, size))
    }

    /// The mapping at `addr` of process `pid` is gone; a removed segment
    /// is destroyed at its last detach.
    pub fn detached(&mut self, pid: i32, addr: u64) -> Option<i32> {
        let list = self.attachments.get_mut(&pid)?;
        let i = list.iter().position(|(a, _)| *a == addr)?;
        let (_, id) = list.remove(i);
        if list.is_empty() {
            self.attachments.remove(&pid);
        }
        let e = self.shm.get_mut(id).ok()?;
        e.obj.nattch = e.obj.nattch.saturating_sub(1);
        e.obj.dtime = now();
        e.obj.lpid = pid;
        if e.perm.mode & SHM_DEST != 0 && e.obj.nattch == 0 {
            self.destroy(id);
        }
        Some(id)
    }

    /// `IPC_RMID`: destroyed now if nothing has it attached, else at its
    /// last detach (its key is free for a new segment at once).
    pub fn shm_rmid(&mut self, id: i32, caller: &Caller) -> Result<(), Errno> {
        let e = self.shm.get_mut(id)?;
        e.perm.check_owner(caller)?;
        if e.obj.nattch == 0 {
            self.destroy(id);
        } else {
            e.perm.mode |= SHM_DEST;
            e.perm.key = IPC_PRIVATE;
        }
        Ok(())
    }

    /// A segment, for `IPC_STAT`.
    pub fn shm_read(&self, id: i32, caller: &Caller) -> Result<&Entry<Segment>, Errno> {
        let e = self.shm.get(id)?;
        e.perm.check(caller, 4)?;
        Ok(e)
    }

    /// `IPC_SET`.
    pub fn shm_set(&mut self, id: i32, ids: (u32, u32, u32), caller: &Caller) -> Result<(), Errno> {
        self.shm.set_perm(id, ids, caller)?.obj.ctime = now();
        Ok(())
    }

    /// `SHM_LOCK`/`SHM_UNLOCK`: accepted (nothing is swapped out on
    /// purpose here) for the owner.
    pub fn shm_lock(&self, id: i32, caller: &Caller) -> Result<(), Errno> {
        self.shm.get(id)?.perm.check_owner(caller)
    }

    fn destroy(&mut self, id: i32) {
        if let Some(seg) = self.shm.remove(id) {
            let _ = std::fs::remove_file(&seg.file);
        }
    }
}

/// A new segment's file: `size` bytes of zeros.
fn make_file(path: &std::path::Path, size: u64) -> Result<(), Errno> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_errno(&e))?;
    f.set_len(size).map_err(|e| {
        let _ = std::fs::remove_file(path);
        io_errno(&e)
    })
}

fn io_errno(e: &std::io::Error) -> Errno {
    match e.raw_os_error() {
        Some(libc::EFBIG) | Some(libc::ENOSPC) | Some(libc::EDQUOT) => Errno::ENOSPC,
        _ => Errno::ENOMEM,
    }
}
