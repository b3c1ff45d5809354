//! `-0/--root-id` and `-i/--change-id`: per-process fake credentials.
//!
//! The tracer keeps one [`Creds`] per tracee (a child gets a copy of its
//! parent's at fork/clone; threads too, since Linux threads do not share
//! credentials and the C library broadcasts `set*id` to every thread).
//! The `set*id` family is emulated entirely with the rules of the kernel
//! (`kernel/sys.c`), where "has `CAP_SETUID`/`CAP_SETGID`" is modelled as
//! "the fake effective uid is 0": the kernel drops a process's capabilities
//! when its euid leaves 0 and gives them back when it returns to 0, which is
//! exactly what deriving privilege from the euid gives.
//!
//! Every setter returns what the syscall returns to the guest: `Ok(value)`
//! or `Err(errno)`.

use crate::Errno;
#[allow(unused_imports)]
use crate::prelude::*;

/// `(uid_t) -1`: "leave this id unchanged" in the `setre*id`/`setres*id`
/// families; an invalid id for `setuid`/`setgid`.
pub const UNCHANGED: u32 = u32::MAX;

/// The kernel's `NGROUPS_MAX`.
pub const NGROUPS_MAX: usize = 65536;

/// The fake credentials of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub ruid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub rgid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
}

impl Creds {
    /// Every uid set to `uid`, every gid to `gid`, no supplementary groups
    /// (what PRoot starts a `-0`/`-i` session with).
    pub fn new(uid: u32, gid: u32) -> Self {
        Creds {
            ruid: uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            rgid: gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups: Vec::new(),
        }
    }

    /// Whether the process counts as root (fake euid 0): `EPERM` from
    /// privileged operations becomes success, permission bits are bypassed.
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// Whether filesystem permission checks should be bypassed (the kernel
    /// keeps the filesystem capabilities only while fsuid is 0).
    pub fn is_fs_root(&self) -> bool {
        self.fsuid == 0
    }

    /// `CAP_SETUID`, as modelled here.
    fn cap_setuid(&self) -> bool {
        self.euid == 0
    }

    /// `CAP_SETGID`, as modelled here.
    fn cap_setgid(&self) -> bool {
        self.euid == 0
    }

    /// `setuid(2)`.
    pub fn setuid(&mut self, uid: u32) -> Result<i64, Errno> {
        if uid == UNCHANGED {
            return Err(Errno::EINVAL);
        }
        if self.cap_setuid() {
            self.ruid = uid;
            self.suid = uid;
        } else if uid != self.ruid && uid != self.suid {
            return Err(Errno::EPERM);
        }
        self.euid = uid;
        self.fsuid = uid;
        Ok(0)
    }

    /// `setgid(2)`.
    pub fn setgid(&mut self, gid: u32) -> Result<i64, Errno> {
        if gid == UNCHANGED {
            return Err(Errno::EINVAL);
        }
        if self.cap_setgid() {
            self.rgid = gid;
            self.sgid = gid;
        } else if gid != self.rgid && gid != self.sgid {
            return Err(Errno::EPERM);
        }
        self.egid = gid;
        self.fsgid = gid;
        Ok(0)
    }

    /// `setreuid(2)`; `UNCHANGED` (-1) leaves an id as it is.
    pub fn setreuid(&mut self, ruid: u32, euid: u32) -> Result<i64, Errno> {
        let cap = self.cap_setuid();
        let ids = setre(cap, [self.ruid, self.euid, self.suid], ruid, euid)?;
        [self.ruid, self.euid, self.suid] = ids;
        self.fsuid = self.euid;
        Ok(0)
    }

    /// `setregid(2)`; `UNCHANGED` (-1) leaves an id as it is.
    pub fn setregid(&mut self, rgid: u32, egid: u32) -> Result<i64, Errno> {
        let cap = self.cap_setgid();
        let ids = setre(cap, [self.rgid, self.egid, self.sgid], rgid, egid)?;
        [self.rgid, self.egid, self.sgid] = ids;
        self.fsgid = self.egid;
        Ok(0)
    }

    /// `setresuid(2)`; `UNCHANGED` (-1) leaves an id as it is.
    pub fn setresuid(&mut self, ruid: u32, euid: u32, suid: u32) -> Result<i64, Errno> {
        let cap = self.cap_setuid();
        let ids = setres(
            cap,
            [self.ruid, self.euid, self.suid],
            self.fsuid,
            [ruid, euid, suid],
        )?;
        if let Some(ids) = ids {
            [self.ruid, self.euid, self.suid] = ids;
            self.fsuid = self.euid;
        }
        Ok(0)
    }

    /// `setresgid(2)`; `UNCHANGED` (-1) leaves an id as it is.
    pub fn setresgid(&mut self, rgid: u32, egid: u32, sgid: u32) -> Result<i64, Errno> {
        let cap = self.cap_setgid();
        let ids = setres(
            cap,
            [self.rgid, self.egid, self.sgid],
            self.fsgid,
            [rgid, egid, sgid],
        )?;
        if let Some(ids) = ids {
            [self.rgid, self.egid, self.sgid] = ids;
            self.fsgid = self.egid;
        }
        Ok(0)
    }

    /// `setfsuid(2)`: never fails; returns the previous fsuid whether or not
    /// it changed (an id that may not be used, or -1, changes nothing).
    pub fn setfsuid(&mut self, fsuid: u32) -> Result<i64, Errno> {
        let old = self.fsuid;
        if fsuid != UNCHANGED
            && (self.cap_setuid() || [self.ruid, self.euid, self.suid, self.fsuid].contains(&fsuid))
        {
            self.fsuid = fsuid;
        }
        Ok(i64::from(old))
    }

    /// `setfsgid(2)`, like [`Creds::setfsuid`].
    pub fn setfsgid(&mut self, fsgid: u32) -> Result<i64, Errno> {
        let old = self.fsgid;
        if fsgid != UNCHANGED
            && (self.cap_setgid() || [self.rgid, self.egid, self.sgid, self.fsgid].contains(&fsgid))
        {
            self.fsgid = fsgid;
        }
        Ok(i64::from(old))
    }

    /// Whether `setgroups(2)` is allowed (`CAP_SETGID`); the kernel checks
    /// this before anything else, the list's size and memory included.
    pub fn may_setgroups(&self) -> bool {
        self.cap_setgid()
    }

    /// `setgroups(2)`: needs `CAP_SETGID` (checked first, as the kernel
    /// does); more than `NGROUPS_MAX` groups is `EINVAL`.
    pub fn setgroups(&mut self, groups: &[u32]) -> Result<i64, Errno> {
        if !self.cap_setgid() {
            return Err(Errno::EPERM);
        }
        if groups.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        let mut groups = groups.to_vec();
        // The kernel keeps the list sorted; getgroups returns it that way.
        groups.sort_unstable();
        self.groups = groups;
        Ok(0)
    }

    /// `getgroups(2)` with buffer size `size` (in entries): `Ok(groups)`
    /// to copy out (its length is the return value), the count alone
    /// when `size` is 0, `EINVAL` when the buffer is too small.
    pub fn getgroups(&self, size: usize) -> Result<&[u32], Errno> {
        if size == 0 {
            // Caller reports groups.len() without copying anything.
            return Ok(&self.groups);
        }
        if size < self.groups.len() {
            return Err(Errno::EINVAL);
        }
        Ok(&self.groups)
    }

    /// Credentials after a successful `execve` of a file with `mode` owned
    /// (as the guest sees it) by `owner_uid:owner_gid`: set-user-ID makes
    /// the euid the owner's, set-group-ID (only with group execute, as in
    /// the kernel) the egid; then the saved and filesystem ids follow the
    /// effective ones, as for any exec.  `nosuid` mounts are not modelled.
    pub fn exec(&mut self, mode: u32, owner_uid: u32, owner_gid: u32) {
        const S_ISUID: u32 = 0o4000;
        const S_ISGID: u32 = 0o2000;
        const S_IXGRP: u32 = 0o0010;
        if mode & S_ISUID != 0 {
            self.euid = owner_uid;
        }
        if mode & S_ISGID != 0 && mode & S_IXGRP != 0 {
            self.egid = owner_gid;
        }
        self.suid = self.euid;
        self.fsuid = self.euid;
        self.sgid = self.egid;
        self.fsgid = self.egid;
    }

    /// The owner that a set-user-ID (set-group-ID) bit gives its program
    /// at an exec, when no `chown` of the run recorded one: the real
    /// user's own files (the rootfs the real user unpacked) count as
    /// root's, whatever fake user runs them, so that `su`, `sudo` or
    /// `passwd` run with an effective id of 0 under `-i` (or after a fake
    /// root's `su user`), as they do on a real system; other files count as
    /// their real owner's.
    pub fn exec_owner(real_uid: u32, real_gid: u32, st_uid: u32, st_gid: u32) -> (u32, u32) {
        let uid = if st_uid == real_uid { 0 } else { st_uid };
        let gid = if st_gid == real_gid { 0 } else { st_gid };
        (uid, gid)
    }

    /// Owner to report in `stat`/`statx` results: a file owned by the real
    /// user (resp. group) is reported as owned by the fake saved uid (resp.
    /// gid), others unchanged -- the mapping PRoot's fake_id0 does (it uses
    /// the saved ids, so a temporary `seteuid` does not change what files
    /// appear to belong to).
    pub fn stat_owner(&self, real_uid: u32, real_gid: u32, st_uid: u32, st_gid: u32) -> (u32, u32) {
        let uid = if st_uid == real_uid {
            self.suid
        } else {
            st_uid
        };
        let gid = if st_gid == real_gid {
            self.sgid
        } else {
            st_gid
        };
        (uid, gid)
    }
}

/// The kernel's `setreuid`/`setregid` on `[real, effective, saved]`.
fn setre(cap: bool, old: [u32; 3], r: u32, e: u32) -> Result<[u32; 3], Errno> {
    let [old_r, old_e, old_s] = old;
    let mut new = old;
    if r != UNCHANGED {
        if r != old_r && r != old_e && !cap {
            return Err(Errno::EPERM);
        }
        new[0] = r;
    }
    if e != UNCHANGED {
        if e != old_r && e != old_e && e != old_s && !cap {
            return Err(Errno::EPERM);
        }
        new[1] = e;
    }
    if r != UNCHANGED || (e != UNCHANGED && e != old_r) {
        new[2] = new[1];
    }
    Ok(new)
}

/// The kernel's `setresuid`/`setresgid`: `Ok(None)` for the no-op case
/// (which also leaves the fs id alone), `Ok(Some(ids))` otherwise.
fn setres(cap: bool, old: [u32; 3], old_fs: u32, req: [u32; 3]) -> Result<Option<[u32; 3]>, Errno> {
    let [r, e, s] = req;
    let [old_r, old_e, old_s] = old;
    if (r == UNCHANGED || r == old_r)
        && (e == UNCHANGED || (e == old_e && e == old_fs))
        && (s == UNCHANGED || s == old_s)
    {
        return Ok(None);
    }
    let is_new = |id: u32| id != UNCHANGED && !old.contains(&id);
    if (is_new(r) || is_new(e) || is_new(s)) && !cap {
        return Err(Errno::EPERM);
    }
    let mut new = old;
    for (slot, id) in new.iter_mut().zip(req) {
        if id != UNCHANGED {
            *slot = id;
        }
    }
    Ok(Some(new))
}

/// Parse the argument of `-i/--change-id`, `uid:gid`. As in PRoot, a
/// missing `:gid` means the real gid of the caller, `default_gid`.
///
/// Stricter than PRoot, which uses `strtol` without checking and so turns
/// garbage into 0 (root): here both ids must be decimal numbers that fit a
/// `uid_t` and are not -1.
pub fn parse_change_id_with(s: &str, default_gid: u32) -> Result<(u32, u32), String> {
    let (uid, gid) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let number = |what: &str, v: &str| -> Result<u32, String> {
        let v = v.trim();
        match v.parse::<u32>() {
            Ok(n) if n != UNCHANGED && !v.starts_with('+') => Ok(n),
            _ => Err(format!(
                "invalid {what} '{v}' in change-id '{s}' (expected uid:gid)"
            )),
        }
    };
    let uid = number("uid", uid)?;
    let gid = match gid {
        Some(g) => number("gid", g)?,
        None => default_gid,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: u32 = UNCHANGED;

    fn user(uid: u32, gid: u32) -> Creds {
        Creds::new(uid, gid)
    }

    fn uids(c: &Creds) -> [u32; 4] {
        [c.ruid, c.euid, c.suid, c.fsuid]
    }

    fn gids(c: &Creds) -> [u32; 4] {
        [c.rgid, c.egid, c.sgid, c.fsgid]
    }

    #[test]
    fn new_sets_every_id_and_root_is_euid_zero() {
        let c = Creds::new(0, 0);
        assert_eq!(uids(&c), [0; 4]);
        assert_eq!(gids(&c), [0; 4]);
        assert!(c.is_root() && c.is_fs_root());
        let c = Creds::new(1000, 100);
        assert_eq!(uids(&c), [1000; 4]);
        assert_eq!(gids(&c), [100; 4]);
        assert!(!c.is_root());
    }

    #[test]
    fn setuid_as_root_sets_all_uids_and_drops_privilege() {
        let mut c = user(0, 0);
        assert_eq!(c.setuid(1000), Ok(0));
        assert_eq!(uids(&c), [1000; 4]);
        assert!(!c.is_root());
        // No way back.
        assert_eq!(c.setuid(0), Err(Errno::EPERM));
        assert_eq!(uids(&c), [1000; 4]);
    }

    #[test]
    fn setuid_unprivileged_only_to_real_or_saved() {
        let mut c = user(0, 0);
        c.setresuid(1000, 1000, 2000).unwrap();
        assert_eq!(c.setuid(3000), Err(Errno::EPERM));
        assert_eq!(c.setuid(2000), Ok(0));
        assert_eq!(uids(&c), [1000, 2000, 2000, 2000]);
        assert_eq!(c.setuid(1000), Ok(0));
        assert_eq!(uids(&c), [1000, 1000, 2000, 1000]);
    }

    #[test]
    fn setuid_minus_one_is_einval() {
        let mut c = user(0, 0);
        assert_eq!(c.setuid(M1), Err(Errno::EINVAL));
        assert_eq!(c.setgid(M1), Err(Errno::EINVAL));
        assert_eq!(uids(&c), [0; 4]);
    }

    #[test]
    fn seteuid_style_round_trip_keeps_root_reachable() {
        // seteuid(1000) is setresuid(-1, 1000, -1) in glibc.
        let mut c = user(0, 0);
        assert_eq!(c.setresuid(M1, 1000, M1), Ok(0));
        assert_eq!(uids(&c), [0, 1000, 0, 1000]);
        assert!(!c.is_root());
        assert_eq!(c.setresuid(M1, 0, M1), Ok(0));
        assert!(c.is_root());
        // setuid as root with ruid 0: full switch.
        assert_eq!(c.setuid(0), Ok(0));
        assert_eq!(uids(&c), [0; 4]);
    }

    #[test]
    fn setgid_rules() {
        let mut c = user(0, 0);
        assert_eq!(c.setgid(50), Ok(0));
        assert_eq!(gids(&c), [50; 4]);
        let mut c = user(1000, 100);
        assert_eq!(c.setgid(0), Err(Errno::EPERM));
        assert_eq!(c.setgid(100), Ok(0));
        let mut c = user(0, 100);
        c.setresgid(100, 100, 200).unwrap();
        c.setuid(1000).unwrap();
        assert_eq!(c.setgid(300), Err(Errno::EPERM));
        assert_eq!(c.setgid(200), Ok(0));
        assert_eq!(gids(&c), [100, 200, 200, 200]);
    }

    #[test]
    fn setreuid_unprivileged_rules() {
        let mut c = user(0, 0);
        c.setresuid(1000, 2000, 3000).unwrap();
        // Swap real and effective.
        assert_eq!(c.setreuid(2000, 1000), Ok(0));
        // ruid changed -> suid = new euid.
        assert_eq!(uids(&c), [2000, 1000, 1000, 1000]);

        let mut c = user(0, 0);
        c.setresuid(1000, 2000, 3000).unwrap();
        // Effective to saved, real unchanged: euid != old ruid -> suid = euid.
        assert_eq!(c.setreuid(M1, 3000), Ok(0));
        assert_eq!(uids(&c), [1000, 3000, 3000, 3000]);

        let mut c = user(0, 0);
        c.setresuid(1000, 2000, 3000).unwrap();
        // Real may only become real or effective, not saved.
        assert_eq!(c.setreuid(3000, M1), Err(Errno::EPERM));
        // Effective to something unrelated.
        assert_eq!(c.setreuid(M1, 4000), Err(Errno::EPERM));
        assert_eq!(uids(&c), [1000, 2000, 3000, 2000]);
        // Effective back to real: suid untouched.
        assert_eq!(c.setreuid(M1, 1000), Ok(0));
        assert_eq!(uids(&c), [1000, 1000, 3000, 1000]);
        // Both -1: nothing changes but fsuid follows euid.
        c.setfsuid(3000).unwrap();
        assert_eq!(c.setreuid(M1, M1), Ok(0));
        assert_eq!(uids(&c), [1000, 1000, 3000, 1000]);
    }

    #[test]
    fn setreuid_privileged_anything() {
        let mut c = user(0, 0);
        assert_eq!(c.setreuid(5, 6), Ok(0));
        assert_eq!(uids(&c), [5, 6, 6, 6]);
        assert_eq!(c.setreuid(M1, 0), Err(Errno::EPERM));
    }

    #[test]
    fn setregid_rules_follow_euid_privilege() {
        let mut c = user(0, 0);
        assert_eq!(c.setregid(10, 20), Ok(0));
        assert_eq!(gids(&c), [10, 20, 20, 20]);
        c.setuid(1000).unwrap();
        assert_eq!(c.setregid(20, 10), Ok(0));
        assert_eq!(gids(&c), [20, 10, 10, 10]);
        assert_eq!(c.setregid(M1, 99), Err(Errno::EPERM));
        assert_eq!(c.setregid(99, M1), Err(Errno::EPERM));
        assert_eq!(gids(&c), [20, 10, 10, 10]);
    }

    #[test]
    fn setresuid_unprivileged_may_permute_current_ids() {
        let mut c = user(0, 0);
        c.setresuid(1, 2, 3).unwrap();
        assert_eq!(uids(&c), [1, 2, 3, 2]);
        assert_eq!(c.setresuid(3, 1, 2), Ok(0));
        assert_eq!(uids(&c), [3, 1, 2, 1]);
        assert_eq!(c.setresuid(M1, M1, 4), Err(Errno::EPERM));
        assert_eq!(c.setresuid(4, M1, M1), Err(Errno::EPERM));
        assert_eq!(uids(&c), [3, 1, 2, 1]);
    }

    #[test]
    fn setresuid_all_minus_one_is_a_noop_that_keeps_fsuid() {
        let mut c = user(0, 0);
        c.setfsuid(7).unwrap();
        assert_eq!(c.setresuid(M1, M1, M1), Ok(0));
        assert_eq!(uids(&c), [0, 0, 0, 7]);
        // Not a no-op when euid is given but fsuid differs: fsuid resets.
        assert_eq!(c.setresuid(M1, 0, M1), Ok(0));
        assert_eq!(uids(&c), [0; 4]);
    }

    #[test]
    fn setresgid_rules() {
        let mut c = user(0, 0);
        assert_eq!(c.setresgid(1, 2, 3), Ok(0));
        assert_eq!(gids(&c), [1, 2, 3, 2]);
        c.setuid(1000).unwrap();
        assert_eq!(c.setresgid(2, 3, 1), Ok(0));
        assert_eq!(gids(&c), [2, 3, 1, 3]);
        assert_eq!(c.setresgid(0, M1, M1), Err(Errno::EPERM));
        assert_eq!(c.setresgid(M1, M1, M1), Ok(0));
    }

    #[test]
    fn setfsuid_returns_previous_value_and_never_fails() {
        let mut c = user(0, 0);
        assert_eq!(c.setfsuid(1000), Ok(0));
        assert_eq!(c.fsuid, 1000);
        assert!(!c.is_fs_root() && c.is_root());
        assert_eq!(c.setfsuid(M1), Ok(1000));
        assert_eq!(c.fsuid, 1000);
        assert_eq!(c.setfsuid(0), Ok(1000));
        assert_eq!(c.fsuid, 0);

        let mut c = user(1000, 100);
        // Not allowed: unchanged, still returns the current value.
        assert_eq!(c.setfsuid(0), Ok(1000));
        assert_eq!(c.fsuid, 1000);
        assert_eq!(c.setfsgid(0), Ok(100));
        assert_eq!(c.fsgid, 100);
        assert_eq!(c.setfsgid(100), Ok(100));
    }

    #[test]
    fn setfsgid_privileged() {
        let mut c = user(0, 0);
        assert_eq!(c.setfsgid(42), Ok(0));
        assert_eq!(c.setfsgid(43), Ok(42));
        assert_eq!(gids(&c), [0, 0, 0, 43]);
    }

    #[test]
    fn setgroups_needs_root() {
        let mut c = user(0, 0);
        assert_eq!(c.setgroups(&[27, 4, 100]), Ok(0));
        assert_eq!(c.groups, vec![4, 27, 100]);
        assert_eq!(c.getgroups(0).map(<[u32]>::len), Ok(3));
        assert_eq!(c.getgroups(2), Err(Errno::EINVAL));
        assert_eq!(c.getgroups(3), Ok(&[4, 27, 100][..]));
        assert_eq!(c.setgroups(&[]), Ok(0));
        assert!(c.groups.is_empty());
        let too_many = vec![1; NGROUPS_MAX + 1];
        assert_eq!(c.setgroups(&too_many), Err(Errno::EINVAL));

        let mut c = user(1000, 1000);
        assert_eq!(c.setgroups(&[1]), Err(Errno::EPERM));
        assert_eq!(c.setgroups(&too_many), Err(Errno::EPERM));
        assert!(!c.may_setgroups());
    }

    #[test]
    fn exec_of_setuid_file_takes_owner_ids() {
        let mut c = user(1000, 1000);
        c.exec(0o104755, 0, 0);
        assert_eq!(uids(&c), [1000, 0, 0, 0]);
        assert!(c.is_root());
        // setgid without group exec: no change to egid.
        assert_eq!(gids(&c), [1000; 4]);
        c.exec(0o102745, 7, 7);
        assert_eq!(gids(&c), [1000; 4]);
        c.exec(0o102755, 7, 7);
        assert_eq!(gids(&c), [1000, 7, 7, 7]);
        // Plain exec: saved ids follow effective ones.
        let mut c = user(0, 0);
        c.setresuid(M1, 5, M1).unwrap();
        c.exec(0o100755, 9, 9);
        assert_eq!(uids(&c), [0, 5, 5, 5]);
    }

    #[test]
    fn set_id_programs_of_the_real_user_count_as_root_s() {
        assert_eq!(Creds::exec_owner(10123, 10124, 10123, 10124), (0, 0));
        assert_eq!(Creds::exec_owner(10123, 10124, 5, 10124), (5, 0));
        assert_eq!(Creds::exec_owner(10123, 10124, 10123, 7), (0, 7));
        let mut c = user(1000, 1000);
        let (u, g) = Creds::exec_owner(10123, 10123, 10123, 10123);
        c.exec(0o106755, u, g);
        assert_eq!(uids(&c), [1000, 0, 0, 0]);
        assert_eq!(gids(&c), [1000, 0, 0, 0]);
    }

    #[test]
    fn stat_owner_maps_real_user_to_saved_fake_ids() {
        let c = Creds::new(0, 0);
        assert_eq!(c.stat_owner(10123, 10123, 10123, 10123), (0, 0));
        assert_eq!(c.stat_owner(10123, 10123, 10123, 3003), (0, 3003));
        assert_eq!(c.stat_owner(10123, 10123, 55, 10123), (55, 0));
        assert_eq!(c.stat_owner(10123, 10123, 55, 66), (55, 66));
        let mut c = Creds::new(0, 0);
        c.setresuid(M1, 1000, M1).unwrap();
        assert_eq!(c.stat_owner(1, 1, 1, 1), (0, 0));
        c.setuid(0).unwrap();
        c.setuid(1000).unwrap();
        c.setgid(1000).unwrap_err();
        assert_eq!(c.stat_owner(1, 1, 1, 1), (1000, 0));
    }

    #[test]
    fn parse_change_id_forms() {
        assert_eq!(parse_change_id_with("0:0", 5), Ok((0, 0)));
        assert_eq!(parse_change_id_with("1000:100", 5), Ok((1000, 100)));
        assert_eq!(parse_change_id_with("1000", 5), Ok((1000, 5)));
        assert_eq!(parse_change_id_with("4294967294:1", 5), Ok((4294967294, 1)));
        for bad in [
            "",
            ":",
            "a:b",
            "0:",
            ":0",
            "-1:0",
            "0:-1",
            "4294967295:0",
            "1:2:3",
            "+1:0",
            "99999999999:0",
        ] {
            assert!(parse_change_id_with(bad, 5).is_err(), "{bad}");
        }
        assert_eq!(parse_change_id_with("7", 5), Ok((7, 5)));
    }
}
