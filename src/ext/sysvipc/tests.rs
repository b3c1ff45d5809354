use super::call::{Action, call};
use super::msg::{MSG_EXCEPT, MSG_NOERROR};
use super::sem::{SEM_UNDO, SemBuf, SemOp};
use super::shm::SHM_DEST;
use super::*;
use crate::arch::sys;
use crate::syscall::Memory;

fn caller(pid: i32, uid: u32) -> Caller {
    Caller {
        pid,
        tid: pid,
        uid,
        gid: uid,
    }
}

fn ns() -> (SysvIpc, tempdir::Dir) {
    let d = tempdir::Dir::new();
    (SysvIpc::new(&d.0), d)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "sproot-sysvipc-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn op(num: u16, op: i16, flg: i16) -> SemBuf {
    SemBuf { num, op, flg }
}

#[test]
fn keys_find_the_same_object_and_private_keys_never_do() {
    let (mut ipc, _d) = ns();
    let me = caller(10, 1000);
    let a = ipc.semget(42, 2, IPC_CREAT | 0o600, &me).unwrap();
    assert_eq!(ipc.semget(42, 0, 0, &me), Ok(a));
    assert_eq!(
        ipc.semget(42, 3, 0, &me),
        Err(Errno::EINVAL),
        "more semaphores than the set has"
    );
    assert_eq!(
        ipc.semget(42, 2, IPC_CREAT | IPC_EXCL | 0o600, &me),
        Err(Errno::EEXIST)
    );
    assert_eq!(ipc.semget(43, 1, 0o600, &me), Err(Errno::ENOENT));
    let p1 = ipc.semget(IPC_PRIVATE, 1, 0o600, &me).unwrap();
    let p2 = ipc.semget(IPC_PRIVATE, 1, 0o600, &me).unwrap();
    assert!(p1 != p2 && p1 != a);
    assert_eq!(
        ipc.semget(44, 0, IPC_CREAT | 0o600, &me),
        Err(Errno::EINVAL)
    );
}

#[test]
fn permissions_follow_owner_group_and_other_bits_and_root_passes() {
    let (mut ipc, _d) = ns();
    let owner = caller(10, 1000);
    let other = caller(11, 2000);
    let root = caller(12, 0);
    let id = ipc.msgget(7, IPC_CREAT | 0o640, &owner).unwrap();
    assert_eq!(ipc.msgget(7, 0o400, &other), Err(Errno::EACCES));
    assert_eq!(ipc.msgget(7, 0o400, &root), Ok(id));
    assert_eq!(
        ipc.msgsnd(id, 1, b"x".to_vec(), 0, &other),
        Err(Errno::EACCES)
    );
    assert_eq!(ipc.msg_rmid(id, &other), Err(Errno::EPERM));
    assert_eq!(ipc.msg_rmid(id, &owner), Ok(()));
    assert_eq!(ipc.msgget(7, 0, &owner), Err(Errno::ENOENT));
}

#[test]
fn semop_is_all_or_nothing_and_a_blocked_call_waits_until_woken() {
    let (mut ipc, _d) = ns();
    let a = caller(10, 1000);
    let b = caller(20, 1000);
    let id = ipc.semget(IPC_PRIVATE, 2, 0o600, &a).unwrap();
    // Needs both: the first would go, the second cannot: nothing changes.
    assert_eq!(
        ipc.semop(id, &[op(0, 1, 0), op(1, -1, 0)], &a),
        Ok(SemOp::Wait)
    );
    assert_eq!(ipc.sem.get(id).unwrap().obj.sems[0].val, 0);
    assert_eq!(ipc.sem_count(id, 1, false, &a), Ok(1));
    assert!(ipc.take_wakes().is_empty());
    assert_eq!(ipc.semop(id, &[op(1, 1, 0)], &b), Ok(SemOp::Done));
    assert_eq!(ipc.take_wakes(), vec![10], "the waiter is woken once");
    assert_eq!(ipc.semop(id, &[op(1, 1, 0)], &b), Ok(SemOp::Done));
    assert!(
        ipc.take_wakes().is_empty(),
        "no second wake-up before it runs again"
    );
    assert_eq!(
        ipc.semop(id, &[op(0, 1, 0), op(1, -1, 0)], &a),
        Ok(SemOp::Done)
    );
    let vals: Vec<i32> = ipc
        .sem
        .get(id)
        .unwrap()
        .obj
        .sems
        .iter()
        .map(|s| s.val)
        .collect();
    assert_eq!(vals, vec![1, 1]);
    assert_eq!(ipc.sem_count(id, 1, false, &a), Ok(0));
    assert_eq!(
        ipc.semop(id, &[op(0, -2, IPC_NOWAIT as i16)], &a),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        ipc.semop(id, &[op(0, 0, IPC_NOWAIT as i16)], &a),
        Err(Errno::EAGAIN)
    );
    assert_eq!(ipc.semop(id, &[op(2, 1, 0)], &a), Err(Errno::EFBIG));
    assert_eq!(ipc.semop(id, &[op(0, i16::MAX, 0)], &a), Err(Errno::ERANGE));
}

#[test]
fn removing_a_set_wakes_its_waiters_to_eidrm() {
    let (mut ipc, _d) = ns();
    let a = caller(10, 1000);
    let id = ipc.semget(IPC_PRIVATE, 1, 0o600, &a).unwrap();
    assert_eq!(
        ipc.semop(id, &[op(0, -1, 0)], &caller(11, 1000)),
        Ok(SemOp::Wait)
    );
    ipc.sem_rmid(id, &a).unwrap();
    assert_eq!(ipc.take_wakes(), vec![11]);
    assert_eq!(
        ipc.semop(id, &[op(0, -1, 0)], &caller(11, 1000)),
        Err(Errno::EIDRM)
    );
    assert_eq!(
        ipc.semop(id, &[op(0, -1, 0)], &caller(11, 1000)),
        Err(Errno::EINVAL)
    );
}

#[test]
fn undo_values_are_applied_when_the_process_ends() {
    let (mut ipc, _d) = ns();
    let a = caller(10, 1000);
    let id = ipc.semget(IPC_PRIVATE, 1, 0o600, &a).unwrap();
    ipc.setval(id, 0, 5, &a).unwrap();
    let p = caller(30, 1000);
    ipc.semop(id, &[op(0, -2, SEM_UNDO)], &p).unwrap();
    ipc.semop(id, &[op(0, -1, 0)], &p).unwrap();
    assert_eq!(ipc.sem.get(id).unwrap().obj.sems[0].val, 2);
    ipc.gone(30);
    assert_eq!(
        ipc.sem.get(id).unwrap().obj.sems[0].val,
        4,
        "the undone -2 only"
    );
}

#[test]
fn messages_are_taken_by_type_rules_and_a_full_queue_waits() {
    let (mut ipc, _d) = ns();
    let a = caller(10, 1000);
    let id = ipc.msgget(IPC_PRIVATE, 0o600, &a).unwrap();
    for (t, m) in [(3, "three"), (1, "one"), (2, "two"), (1, "uno")] {
        ipc.msgsnd(id, t, m.as_bytes().to_vec(), 0, &a).unwrap();
    }
    let take = |ipc: &mut SysvIpc, typ, flags| match ipc.msgrcv(id, 100, typ, flags, &a) {
        Ok(msg::MsgOp::Done((t, text))) => (t, String::from_utf8(text).unwrap()),
        other => panic!("{other:?}"),
    };
    assert_eq!(take(&mut ipc, 2, 0), (2, "two".into()));
    assert_eq!(take(&mut ipc, 1, MSG_EXCEPT), (3, "three".into()));
    assert_eq!(take(&mut ipc, -5, 0), (1, "one".into()));
    assert_eq!(ipc.msgrcv(id, 2, 0, 0, &a), Err(Errno::E2BIG));
    assert_eq!(
        ipc.msgrcv(id, 2, 0, MSG_NOERROR, &a),
        Ok(msg::MsgOp::Done((1, b"un".to_vec())))
    );
    assert_eq!(ipc.msgrcv(id, 100, 0, IPC_NOWAIT, &a), Err(Errno::ENOMSG));
    assert_eq!(
        ipc.msgrcv(id, 100, 0, 0, &caller(11, 1000)),
        Ok(msg::MsgOp::Wait)
    );
    let big = vec![0u8; 8192];
    ipc.msgsnd(id, 1, big.clone(), 0, &a).unwrap();
    assert_eq!(ipc.take_wakes(), vec![11]);
    ipc.msgsnd(id, 1, big.clone(), 0, &a).unwrap();
    assert_eq!(
        ipc.msgsnd(id, 1, vec![0], IPC_NOWAIT, &a),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        ipc.msgsnd(id, 1, vec![0], 0, &caller(12, 1000)),
        Ok(msg::MsgOp::Wait)
    );
    assert_eq!(ipc.msgsnd(id, 0, vec![0], 0, &a), Err(Errno::EINVAL));
}

#[test]
fn a_segment_lives_in_a_file_until_removed_and_detached_everywhere() {
    let (mut ipc, d) = ns();
    let a = caller(10, 1000);
    let id = ipc.shmget(99, 10000, IPC_CREAT | 0o600, &a).unwrap();
    assert_eq!(ipc.shmget(99, 20000, 0, &a), Err(Errno::EINVAL));
    let at = ipc.shmat(id, 0, 0, &a).unwrap();
    assert!(at.file.starts_with(&d.0));
    assert_eq!(std::fs::metadata(&at.file).unwrap().len(), 10000);
    ipc.attached(10, 0x7000_0000, id);
    ipc.forked(10, 11);
    assert_eq!(ipc.shm.get(id).unwrap().obj.nattch, 2);
    ipc.shm_rmid(id, &a).unwrap();
    let e = ipc.shm.get(id).unwrap();
    assert_ne!(e.perm.mode & SHM_DEST, 0);
    assert_eq!(
        ipc.shmget(99, 100, 0, &a),
        Err(Errno::ENOENT),
        "the key is free"
    );
    assert_eq!(ipc.shmdt(10, 0x1000), Err(Errno::EINVAL));
    assert_eq!(ipc.shmdt(10, 0x7000_0000), Ok((0x7000_0000, 10000)));
    ipc.detached(10, 0x7000_0000);
    assert!(at.file.exists(), "still attached in the child");
    ipc.exec(11);
    assert!(!at.file.exists());
    assert_eq!(ipc.shmat(id, 0, 0, &a), Err(Errno::EINVAL));
    let one = ipc.shmget(IPC_PRIVATE, 1, 0o600, &a).unwrap();
    assert_eq!(ipc.shmat(one, 123, 0, &a), Err(Errno::EINVAL), "unaligned");
    let dir = ipc.dir.clone();
    drop(ipc);
    assert!(!dir.exists(), "the run's directory goes with it");
}

/// Guest memory as a flat buffer at address 0x1000.
struct Flat(Vec<u8>);
impl Memory for Flat {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), sproot_core::Errno> {
        let at = addr.checked_sub(0x1000).ok_or(Errno::EFAULT)? as usize;
        buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or(Errno::EFAULT)?);
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), sproot_core::Errno> {
        let at = addr.checked_sub(0x1000).ok_or(Errno::EFAULT)? as usize;
        self.0
            .get_mut(at..at + data.len())
            .ok_or(Errno::EFAULT)?
            .copy_from_slice(data);
        Ok(())
    }
}

#[test]
fn calls_decode_guest_structures_and_say_what_the_tracer_does() {
    let (mut ipc, _d) = ns();
    let a = caller(10, 1000);
    let mut mem = Flat(vec![0; 4096]);
    let Action::Complete(id) = call(
        &mut ipc,
        sys::SYS_semget,
        [0, 2, 0o600, 0, 0, 0],
        &a,
        &mut mem,
    ) else {
        panic!()
    };
    // SETALL from guest memory, then GETALL back.
    mem.write(0x1100, &[3, 0, 4, 0]).unwrap();
    let args = |cmd: u64, arg: u64| [id as u64, 0, cmd, arg, 0, 0];
    assert_eq!(
        call(&mut ipc, sys::SYS_semctl, args(17, 0x1100), &a, &mut mem),
        Action::Complete(0)
    );
    assert_eq!(
        call(&mut ipc, sys::SYS_semctl, args(13, 0x1200), &a, &mut mem),
        Action::Complete(0)
    );
    assert_eq!(&mem.0[0x200..0x204], &[3, 0, 4, 0]);
    // IPC_STAT: the owner and the number of semaphores where the kernel puts them.
    assert_eq!(
        call(
            &mut ipc,
            sys::SYS_semctl,
            args(2 | 0x100, 0x1300),
            &a,
            &mut mem
        ),
        Action::Complete(0)
    );
    assert_eq!(
        u32::from_ne_bytes(mem.0[0x304..0x308].try_into().unwrap()),
        1000
    );
    let nsems_at = 0x300 + layout::SEMID_DS_LEN - 24;
    assert_eq!(mem.0[nsems_at], 2);
    // semop taking 5 from 3 waits, with semtimedop's timeout.
    mem.write(0x1400, &[0, 0, 0xfb, 0xff, 0, 0]).unwrap();
    mem.write(0x1500, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    let wait = call(
        &mut ipc,
        sys::SYS_semtimedop,
        [id as u64, 0x1400, 1, 0x1500, 0, 0],
        &a,
        &mut mem,
    );
    assert!(matches!(wait, Action::Wait { timeout: Some(ts) } if ts[0] == 1));
    assert_eq!(
        call(
            &mut ipc,
            sys::SYS_semop,
            [id as u64, 0x1400, 1, 0, 0, 0],
            &a,
            &mut mem
        ),
        Action::Wait { timeout: None }
    );
    assert_eq!(
        call(
            &mut ipc,
            sys::SYS_semop,
            [id as u64, 0x9000, 1, 0, 0, 0],
            &a,
            &mut mem
        ),
        Action::Complete(-(Errno::EFAULT as i64))
    );
    // A message out and back in.
    let Action::Complete(q) = call(
        &mut ipc,
        sys::SYS_msgget,
        [0, 0o600, 0, 0, 0, 0],
        &a,
        &mut mem,
    ) else {
        panic!()
    };
    mem.write(0x1600, &7i64.to_ne_bytes()).unwrap();
    mem.write(0x1608, b"hello").unwrap();
    assert_eq!(
        call(
            &mut ipc,
            sys::SYS_msgsnd,
            [q as u64, 0x1600, 5, 0, 0, 0],
            &a,
            &mut mem
        ),
        Action::Complete(0)
    );
    assert_eq!(
        call(
            &mut ipc,
            sys::SYS_msgrcv,
            [q as u64, 0x1700, 100, 0, 0, 0],
            &a,
            &mut mem
        ),
        Action::Complete(5)
    );
    assert_eq!(&mem.0[0x700..0x70d], b"\x07\0\0\0\0\0\0\0hello");
    // An attach and a detach are the tracer's to do.
    let Action::Complete(s) = call(
        &mut ipc,
        sys::SYS_shmget,
        [0, 4096, 0o600, 0, 0, 0],
        &a,
        &mut mem,
    ) else {
        panic!()
    };
    assert!(
        matches!(call(&mut ipc, sys::SYS_shmat, [s as u64, 0, 0, 0, 0, 0], &a, &mut mem), Action::Attach(at) if at.size == 4096)
    );
    ipc.attached(10, 0x5000_0000, s as i32);
    assert_eq!(
        call(
            &mut ipc,
            sys::SYS_shmdt,
            [0x5000_0000, 0, 0, 0, 0, 0],
            &a,
            &mut mem
        ),
        Action::Detach {
            addr: 0x5000_0000,
            len: 4096
        }
    );
}
