//! The table: for each syscall sproot stops, what it does and where its
//! arguments are. A syscall's argument layout is written here once, per
//! entry; handlers read it through [`Call`], decoded from the registers.

use crate::errno::Errno;
use crate::sysno as sys;

/// Whether the last component of a path argument is followed when it is a
/// symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    Yes,
    No,
    /// Followed unless `flag` is set in the call's flags argument
    /// (`AT_SYMLINK_NOFOLLOW`, `IN_DONT_FOLLOW`).
    UnlessFlag(u64),
    /// Followed only if `flag` is set in the call's flags argument
    /// (`AT_SYMLINK_FOLLOW`).
    IfFlag(u64),
    /// `open` flags in the call's flags argument: not followed with
    /// `O_NOFOLLOW` or with `O_CREAT|O_EXCL`.
    OpenFlags,
}

/// A path argument of a syscall.
#[derive(Clone, Copy, Debug)]
pub struct PathArg {
    /// Argument index of the path pointer.
    pub path: usize,
    /// Argument index of the directory fd relative paths start from
    /// (`None`: the current directory).
    pub dirfd: Option<usize>,
    pub follow: Follow,
    /// Whether an empty path names the fd itself when `AT_EMPTY_PATH` is in
    /// the call's flags (it is then passed through untouched).
    pub empty_path: bool,
}

/// What the tracer does with a trapped syscall.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Translate these path arguments and let the kernel run the syscall.
    Paths(&'static [PathArg]),
    /// No path: runs as is. Listed for its layout, which extensions read
    /// (`fstat`, `fchown`).
    Native,
    /// Emulated: the guest's view of the current directory.
    Getcwd,
    /// Emulated: read a symlink, mapping /proc magic links to guest paths.
    Readlink {
        dirfd: Option<usize>,
        path: usize,
        buf: usize,
        size: usize,
    },
    /// `execve` (`at: false`) or `execveat` (`at: true`).
    Exec { at: bool },
    /// `bind`/`connect`/`sendto` with a socket address.
    SockAddr { addr: usize, len: usize, bind: bool },
    /// `sendmsg`: the address is inside a `struct msghdr`.
    SendMsg,
    /// `sendmmsg`: one address per `struct mmsghdr`.
    SendMmsg,
    /// An address comes back at `addr`, its length at `len` (pointers).
    AddrOut { addr: usize, len: usize },
    /// `recvmsg`: an address comes back inside a `struct msghdr`.
    RecvMsg,
    /// `recvmmsg`: addresses come back inside `struct mmsghdr`s.
    RecvMmsg,
    /// `bpf(BPF_OBJ_PIN | BPF_OBJ_GET)`: a path inside `union bpf_attr`.
    BpfObj,
    /// `chroot`: only to the guest's own root.
    Chroot,
    /// `openat2`: the follow rule is inside `struct open_how`.
    Openat2,
    /// `prctl(PR_SET_DUMPABLE, 0)` would lock the tracer out of the tracee's
    /// memory and /proc entries: it succeeds without taking effect.
    Prctl,
    /// `open_tree` and `open_tree_attr`: the path translated like an
    /// `O_PATH` open, refused (`EPERM`) with `OPEN_TREE_CLONE` (a new
    /// mount).
    OpenTree(PathArg),
    /// `unshare` (`clone: false`), `clone` with flags sproot answers, or
    /// `clone3` (its flags in `struct clone_args`, which the filter cannot
    /// read: with seccomp a second filter answers it `ENOSYS`, so it comes
    /// here only without): a new user namespace is refused as in a chroot;
    /// `CLONE_UNTRACED` is dropped, so that the child is traced and its
    /// paths translated like any other's.
    CloneFlags { clone: bool },
    /// Refused with this errno, without running.
    Refuse(Errno),
}

/// The kernel's rule for a flags argument, checked before any path lookup
/// (`EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Only the bits of `allowed` (of the low 32) may be set.
    Only(u64),
    /// Any value.
    Any,
    /// `statx`: `AT_STATX_SYNC_TYPE` not both bits, no reserved mask bit,
    /// only the stat flags.
    Statx,
    /// `renameat2`: known bits, `RENAME_EXCHANGE` alone.
    Renameat2,
}

/// Where an extended-attribute call keeps its name and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Xattr {
    /// The name at `name`; the value (or the buffer for it) at `value`, its
    /// size at `value + 1`, `XATTR_CREATE`/`XATTR_REPLACE` at `value + 2`.
    Args { name: usize, value: usize },
    /// The name at `name`; a `struct xattr_args` (value pointer, size,
    /// flags) at `args`, the structure's size at `args + 1` (`*xattrat`).
    Struct { name: usize, args: usize },
    /// A list of names goes to the buffer at `list`, its size at `list + 1`.
    List { list: usize },
    /// Only a name, at `name` (the remove calls).
    Name { name: usize },
}

/// One syscall: what is done with it and where its arguments are.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub kind: Kind,
    /// The flags argument and its rule.
    pub flags: Option<(usize, Rule)>,
    /// An access mode argument (`R_OK|W_OK|X_OK` only).
    pub access_mode: Option<usize>,
    /// The `struct stat` or `struct statx` a stat call fills (only the stat
    /// family has this role; the stat extension relies on it).
    pub out: Option<usize>,
    /// The new owner: the uid at this argument, the gid at the next.
    pub owner: Option<usize>,
    /// The file descriptor the call acts on (no path).
    pub fd: Option<usize>,
    /// `statx`'s mask argument.
    pub mask: Option<usize>,
    /// An extended-attribute call's name and value.
    pub xattr: Option<Xattr>,
}

impl Entry {
    /// An entry of this kind with no argument roles.
    pub const fn of(kind: Kind) -> Entry {
        Entry {
            kind,
            flags: None,
            access_mode: None,
            out: None,
            owner: None,
            fd: None,
            mask: None,
            xattr: None,
        }
    }
    const fn flags(mut self, arg: usize, rule: Rule) -> Entry {
        self.flags = Some((arg, rule));
        self
    }
    const fn access_mode(mut self, arg: usize) -> Entry {
        self.access_mode = Some(arg);
        self
    }
    const fn out(mut self, arg: usize) -> Entry {
        self.out = Some(arg);
        self
    }
    const fn owner(mut self, arg: usize) -> Entry {
        self.owner = Some(arg);
        self
    }
    const fn fd(mut self, arg: usize) -> Entry {
        self.fd = Some(arg);
        self
    }
    const fn mask(mut self, arg: usize) -> Entry {
        self.mask = Some(arg);
        self
    }
    const fn xattr(mut self, x: Xattr) -> Entry {
        self.xattr = Some(x);
        self
    }

    /// The path arguments, for a call that has them.
    pub fn paths(&self) -> &'static [PathArg] {
        match self.kind {
            Kind::Paths(p) => p,
            _ => &[],
        }
    }

    /// Path argument `n` (the first is 0), whatever is done with it (also
    /// `readlink`'s and `open_tree`'s).
    pub fn path_arg(&self, n: usize) -> Option<PathArg> {
        match self.kind {
            Kind::Paths(p) => p.get(n).copied(),
            Kind::OpenTree(p) if n == 0 => Some(p),
            Kind::Readlink { dirfd, path, .. } if n == 0 => Some(PathArg {
                path,
                dirfd,
                follow: Follow::No,
                empty_path: false,
            }),
            _ => None,
        }
    }

    /// Whether argument `i` is a path.
    pub fn is_path(&self, i: usize) -> bool {
        (0..2).any(|n| self.path_arg(n).is_some_and(|p| p.path == i))
    }

    /// Whether the seccomp filter must stop this call (every entry but the
    /// ones listed only for their layout).
    pub fn traps(&self) -> bool {
        !matches!(self.kind, Kind::Native)
    }
}

pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_REMOVEDIR: u64 = 0x200;
pub const AT_EACCESS: u64 = 0x200;
pub const AT_SYMLINK_FOLLOW: u64 = 0x400;
pub const AT_NO_AUTOMOUNT: u64 = 0x800;
pub const AT_EMPTY_PATH: u64 = 0x1000;
/// The dirfd that names the working directory.
pub const AT_FDCWD: i32 = -100;
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
pub const AT_RECURSIVE: u64 = 0x8000;
pub const STATX_RESERVED: u64 = 0x8000_0000;
pub const RENAME_NOREPLACE: u64 = 1;
pub const RENAME_EXCHANGE: u64 = 2;
pub const RENAME_WHITEOUT: u64 = 4;
pub const O_CREAT: u64 = 0o100;
pub const O_EXCL: u64 = 0o200;
/// `O_NOFOLLOW`: arm64 numbers `O_DIRECTORY`, `O_NOFOLLOW`, `O_DIRECT` and
/// `O_LARGEFILE` its own way.
#[cfg(not(target_arch = "aarch64"))]
pub const O_NOFOLLOW: u64 = 0o400000;
#[cfg(target_arch = "aarch64")]
pub const O_NOFOLLOW: u64 = 0o100000;
pub const OPEN_TREE_CLONE: u64 = 1;
pub const IN_DONT_FOLLOW: u64 = 0x0200_0000;
pub const FAN_MARK_DONT_FOLLOW: u64 = 0x0000_0004;
/// The flags of the stat family.
pub const STAT_FLAGS: u64 =
    AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE;
/// `setxattr(path, name, value, size, flags)` and its kin.
const XATTR_ARGS: Xattr = Xattr::Args { name: 1, value: 2 };
/// `removexattr(path, name)` and its kin.
const XATTR_NAME: Xattr = Xattr::Name { name: 1 };
/// `*xattrat` and `file_getattr`/`file_setattr`: the lookup flags.
const XATTRAT_FLAGS: u64 = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;

const fn p(path: usize, follow: Follow) -> PathArg {
    PathArg {
        path,
        dirfd: None,
        follow,
        empty_path: false,
    }
}

const fn at(dirfd: usize, path: usize, follow: Follow) -> PathArg {
    PathArg {
        path,
        dirfd: Some(dirfd),
        follow,
        empty_path: false,
    }
}

/// A path relative to `dirfd` that may be empty with `AT_EMPTY_PATH`.
const fn at_empty(dirfd: usize, path: usize, follow: Follow) -> PathArg {
    PathArg {
        path,
        dirfd: Some(dirfd),
        follow,
        empty_path: true,
    }
}

use Follow::{No, Yes};
const NOFOLLOW: Follow = Follow::UnlessFlag(AT_SYMLINK_NOFOLLOW);

/// `open_tree(dirfd, path, flags)`'s path (also `open_tree_attr`'s).
const OPEN_TREE_PATH: PathArg = at_empty(0, 1, NOFOLLOW);

const fn paths(p: &'static [PathArg]) -> Entry {
    Entry::of(Kind::Paths(p))
}

/// A call on `dirfd` + path with `AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH`
/// style flags at `flags`, allowed as `allowed`.
const fn at_flags(flags: usize, allowed: u64) -> Entry {
    paths(const { &[at_empty(0, 1, NOFOLLOW)] }).flags(flags, Rule::Only(allowed))
}

/// The newest syscall number the table was reviewed against: numbers above
/// it are refused (`ENOSYS`) by the filter rather than run on host paths.
pub const LAST_KNOWN_SYSNO: u32 = 469;

/// The table: syscall number → what to do and where its arguments are.
/// `None`: not trapped on purpose (it should not reach the tracer; if it
/// does it runs unchanged).
pub fn classify(nr: i64) -> Option<Entry> {
    use Kind::*;
    let e = match nr {
        sys::SYS_open => paths(const { &[p(0, Follow::OpenFlags)] }).flags(1, Rule::Any),
        sys::SYS_creat => paths(const { &[p(0, Yes)] }),
        sys::SYS_openat => paths(const { &[at(0, 1, Follow::OpenFlags)] }).flags(2, Rule::Any),
        sys::SYS_openat2 => Entry::of(Openat2),
        sys::SYS_stat => paths(const { &[p(0, Yes)] }).out(1),
        sys::SYS_lstat => paths(const { &[p(0, No)] }).out(1),
        sys::SYS_fstat => Entry::of(Native).fd(0).out(1),
        sys::SYS_newfstatat => at_flags(3, STAT_FLAGS).out(2),
        sys::SYS_statx => paths(const { &[at_empty(0, 1, NOFOLLOW)] })
            .flags(2, Rule::Statx)
            .mask(3)
            .out(4),
        sys::SYS_access => paths(const { &[p(0, Yes)] }).access_mode(1),
        sys::SYS_faccessat => paths(const { &[at(0, 1, Yes)] }).access_mode(2),
        sys::SYS_faccessat2 => {
            at_flags(3, AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH).access_mode(2)
        }
        sys::SYS_mkdir => paths(const { &[p(0, No)] }),
        sys::SYS_mkdirat => paths(const { &[at(0, 1, No)] }),
        sys::SYS_mknod => paths(const { &[p(0, No)] }),
        sys::SYS_mknodat => paths(const { &[at(0, 1, No)] }),
        sys::SYS_unlink | sys::SYS_rmdir => paths(const { &[p(0, No)] }),
        sys::SYS_unlinkat => paths(const { &[at(0, 1, No)] }).flags(2, Rule::Only(AT_REMOVEDIR)),
        sys::SYS_rename => paths(const { &[p(0, No), p(1, No)] }),
        sys::SYS_renameat => paths(const { &[at(0, 1, No), at(2, 3, No)] }),
        sys::SYS_renameat2 => {
            paths(const { &[at(0, 1, No), at(2, 3, No)] }).flags(4, Rule::Renameat2)
        }
        sys::SYS_link => paths(const { &[p(0, No), p(1, No)] }),
        sys::SYS_linkat => paths(
            const {
                &[
                    at_empty(0, 1, Follow::IfFlag(AT_SYMLINK_FOLLOW)),
                    at(2, 3, No),
                ]
            },
        )
        .flags(4, Rule::Only(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)),
        // The target of a symlink is stored as written: only the link's
        // own location is translated.
        sys::SYS_symlink => paths(const { &[p(1, No)] }),
        sys::SYS_symlinkat => paths(const { &[at(1, 2, No)] }),
        sys::SYS_readlink => Entry::of(Readlink {
            dirfd: None,
            path: 0,
            buf: 1,
            size: 2,
        }),
        sys::SYS_readlinkat => Entry::of(Readlink {
            dirfd: Some(0),
            path: 1,
            buf: 2,
            size: 3,
        }),
        sys::SYS_chdir => paths(const { &[p(0, Yes)] }),
        sys::SYS_getcwd => Entry::of(Getcwd),
        sys::SYS_chmod => paths(const { &[p(0, Yes)] }),
        sys::SYS_fchmodat => paths(const { &[at(0, 1, Yes)] }),
        sys::SYS_fchmodat2 | sys::SYS_utimensat => at_flags(3, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH),
        sys::SYS_chown => paths(const { &[p(0, Yes)] }).owner(1),
        sys::SYS_lchown => paths(const { &[p(0, No)] }).owner(1),
        sys::SYS_fchown => Entry::of(Native).fd(0).owner(1),
        sys::SYS_fchownat => at_flags(4, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH).owner(2),
        sys::SYS_truncate => paths(const { &[p(0, Yes)] }),
        sys::SYS_utime | sys::SYS_utimes => paths(const { &[p(0, Yes)] }),
        sys::SYS_futimesat => paths(const { &[at(0, 1, Yes)] }),
        // The XATTR_CREATE/XATTR_REPLACE flags after the value and its size.
        sys::SYS_setxattr => paths(const { &[p(0, Yes)] })
            .xattr(XATTR_ARGS)
            .flags(4, Rule::Only(3)),
        sys::SYS_lsetxattr => paths(const { &[p(0, No)] })
            .xattr(XATTR_ARGS)
            .flags(4, Rule::Only(3)),
        sys::SYS_getxattr => paths(const { &[p(0, Yes)] }).xattr(XATTR_ARGS),
        sys::SYS_lgetxattr => paths(const { &[p(0, No)] }).xattr(XATTR_ARGS),
        sys::SYS_fsetxattr | sys::SYS_fgetxattr => Entry::of(Native).fd(0).xattr(XATTR_ARGS),
        sys::SYS_removexattr => paths(const { &[p(0, Yes)] }).xattr(XATTR_NAME),
        sys::SYS_lremovexattr => paths(const { &[p(0, No)] }).xattr(XATTR_NAME),
        sys::SYS_fremovexattr => Entry::of(Native).fd(0).xattr(XATTR_NAME),
        sys::SYS_listxattr => paths(const { &[p(0, Yes)] }).xattr(Xattr::List { list: 1 }),
        sys::SYS_llistxattr => paths(const { &[p(0, No)] }).xattr(Xattr::List { list: 1 }),
        sys::SYS_flistxattr => Entry::of(Native).fd(0).xattr(Xattr::List { list: 1 }),
        // Linux 6.13: the xattr calls relative to a directory fd, with
        // lookup flags; 6.17: the file attribute calls.
        sys::SYS_setxattrat | sys::SYS_getxattrat => {
            at_flags(2, XATTRAT_FLAGS).xattr(Xattr::Struct { name: 3, args: 4 })
        }
        sys::SYS_removexattrat => at_flags(2, XATTRAT_FLAGS).xattr(Xattr::Name { name: 3 }),
        sys::SYS_listxattrat => at_flags(2, XATTRAT_FLAGS).xattr(Xattr::List { list: 3 }),
        sys::SYS_file_getattr | sys::SYS_file_setattr => at_flags(4, XATTRAT_FLAGS),
        sys::SYS_statfs => paths(const { &[p(0, Yes)] }),
        sys::SYS_inotify_add_watch => {
            paths(const { &[p(1, Follow::UnlessFlag(IN_DONT_FOLLOW))] }).flags(2, Rule::Any)
        }
        sys::SYS_fanotify_mark => {
            paths(const { &[at(3, 4, Follow::UnlessFlag(FAN_MARK_DONT_FOLLOW))] })
                .flags(1, Rule::Any)
        }
        sys::SYS_execve => Entry::of(Exec { at: false }),
        sys::SYS_execveat => Entry::of(Exec { at: true }),
        sys::SYS_bind => Entry::of(SockAddr {
            addr: 1,
            len: 2,
            bind: true,
        }),
        sys::SYS_connect => Entry::of(SockAddr {
            addr: 1,
            len: 2,
            bind: false,
        }),
        sys::SYS_sendto => Entry::of(SockAddr {
            addr: 4,
            len: 5,
            bind: false,
        }),
        sys::SYS_sendmsg => Entry::of(SendMsg),
        sys::SYS_sendmmsg => Entry::of(SendMmsg),
        sys::SYS_getsockname | sys::SYS_getpeername | sys::SYS_accept | sys::SYS_accept4 => {
            Entry::of(AddrOut { addr: 1, len: 2 })
        }
        sys::SYS_recvfrom => Entry::of(AddrOut { addr: 4, len: 5 }),
        sys::SYS_recvmsg => Entry::of(RecvMsg),
        sys::SYS_recvmmsg => Entry::of(RecvMmsg),
        sys::SYS_bpf => Entry::of(BpfObj),
        sys::SYS_chroot => Entry::of(Chroot),
        // The block device of quotactl(cmd, special, id, addr).
        sys::SYS_quotactl => paths(const { &[p(1, Yes)] }),
        sys::SYS_open_tree | sys::SYS_open_tree_attr => {
            Entry::of(OpenTree(OPEN_TREE_PATH)).flags(2, Rule::Any)
        }
        sys::SYS_prctl => Entry::of(Prctl),
        sys::SYS_unshare => Entry::of(CloneFlags { clone: false }),
        sys::SYS_clone | sys::SYS_clone3 => Entry::of(CloneFlags { clone: true }),
        // Mount namespaces are not emulated: refuse as the kernel refuses an
        // unprivileged caller.
        sys::SYS_mount
        | sys::SYS_umount2
        | sys::SYS_pivot_root
        | sys::SYS_swapon
        | sys::SYS_swapoff
        | sys::SYS_acct
        | sys::SYS_move_mount
        | sys::SYS_fspick
        | sys::SYS_fsopen
        | sys::SYS_fsconfig
        | sys::SYS_mount_setattr => Entry::of(Refuse(Errno::EPERM)),
        // File handles would bypass path translation.
        sys::SYS_name_to_handle_at => Entry::of(Refuse(Errno::EOPNOTSUPP)),
        // io_uring operations would run paths untranslated; libuv and others
        // fall back to their thread pools on ENOSYS.
        sys::SYS_io_uring_setup | sys::SYS_uselib => Entry::of(Refuse(Errno::ENOSYS)),
        _ => return None,
    };
    Some(e)
}

/// One syscall's arguments, decoded with its table entry.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub nr: i64,
    pub entry: Entry,
    pub args: [u64; 6],
}

impl Call {
    /// Syscall `nr` with these arguments, if the table has it.
    pub fn decode(nr: i64, args: [u64; 6]) -> Option<Call> {
        classify(nr).map(|entry| Call { nr, entry, args })
    }

    /// The syscall in `regs` with its entry, if the table has it; the
    /// arguments as they are now.
    pub fn from_regs(entry: Option<Entry>, regs: &impl crate::backend::SyscallRegs) -> Call {
        Call {
            nr: regs.sysno(),
            // A syscall the table lacks: no argument roles.
            entry: entry.unwrap_or(Entry::of(Kind::Native)),
            args: regs.args(),
        }
    }

    /// The flags argument (its low 32 bits; 0 if the call has none).
    pub fn flags(&self) -> u64 {
        self.entry
            .flags
            .map_or(0, |(i, _)| self.args[i] & 0xffff_ffff)
    }

    /// Whether path argument `a`'s last component is followed.
    pub fn follows(&self, a: &PathArg) -> bool {
        let flags = self.flags();
        match a.follow {
            Follow::Yes => true,
            Follow::No => false,
            Follow::UnlessFlag(bit) => flags & bit == 0,
            Follow::IfFlag(bit) => flags & bit != 0,
            Follow::OpenFlags => open_follows(flags),
        }
    }

    /// Whether an empty path argument `a` names the directory fd itself.
    pub fn empty_path(&self, a: &PathArg) -> bool {
        a.empty_path && self.flags() & AT_EMPTY_PATH != 0
    }

    /// The directory fd of path argument `a` (`None` for `AT_FDCWD` or no
    /// such argument).
    pub fn dirfd(&self, a: &PathArg) -> Option<i32> {
        a.dirfd
            .map(|i| self.args[i] as i32)
            .filter(|&fd| fd != AT_FDCWD)
    }

    /// The buffer the kernel fills, if the call has one.
    pub fn out(&self) -> Option<u64> {
        self.entry.out.map(|i| self.args[i])
    }

    /// The new owner (uid, gid), as the kernel reads them (32 bits).
    pub fn owner(&self) -> Option<(u32, u32)> {
        self.entry
            .owner
            .map(|i| (self.args[i] as u32, self.args[i + 1] as u32))
    }

    /// The fd the call acts on.
    pub fn fd(&self) -> Option<i32> {
        self.entry.fd.map(|i| self.args[i] as i32)
    }

    /// The access mode of `access`/`faccessat*`.
    pub fn access_mode(&self) -> Option<u32> {
        self.entry.access_mode.map(|i| self.args[i] as u32)
    }

    /// `statx`'s mask.
    pub fn mask(&self) -> Option<u32> {
        self.entry.mask.map(|i| self.args[i] as u32)
    }

    /// Whether the kernel refuses the call's flags (or access mode) with
    /// `EINVAL` before any path lookup.
    pub fn invalid_before_lookup(&self) -> bool {
        if self.access_mode().is_some_and(|m| m & !0o7 != 0) {
            return true;
        }
        let Some((_, rule)) = self.entry.flags else {
            return false;
        };
        let f = self.flags();
        match rule {
            Rule::Any => false,
            Rule::Only(allowed) => f & !allowed != 0,
            Rule::Statx => {
                f & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
                    || u64::from(self.mask().unwrap_or(0)) & STATX_RESERVED != 0
                    || f & !STAT_FLAGS != 0
            }
            Rule::Renameat2 => {
                f & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
                    || (f & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 && f & RENAME_EXCHANGE != 0)
            }
        }
    }
}

/// A syscall's arguments built by role, through its table entry: the
/// positions come from the entry, never from the caller.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub nr: i64,
    entry: Entry,
    pub args: [u64; 6],
}

impl Args {
    /// Syscall `nr` with every argument 0, if the table has it.
    pub fn of(nr: i64) -> Option<Args> {
        classify(nr).map(|entry| Args {
            nr,
            entry,
            args: [0; 6],
        })
    }

    fn set(mut self, at: Option<usize>, v: u64) -> Args {
        if let Some(i) = at {
            self.args[i] = v;
        }
        self
    }

    /// The directory fd of path argument `n` (the first is 0).
    pub fn dirfd(self, n: usize, v: u64) -> Args {
        let at = self.entry.path_arg(n).and_then(|p| p.dirfd);
        self.set(at, v)
    }

    /// Path argument `n` (the first is 0).
    pub fn path(self, n: usize, v: u64) -> Args {
        let at = self.entry.path_arg(n).map(|p| p.path);
        self.set(at, v)
    }

    /// The flags argument.
    pub fn flags(self, v: u64) -> Args {
        let at = self.entry.flags.map(|(i, _)| i);
        self.set(at, v)
    }

    /// The buffer the kernel fills.
    pub fn out(self, v: u64) -> Args {
        let at = self.entry.out;
        self.set(at, v)
    }
}

/// The `*at` form of a legacy path call (`stat` → `newfstatat`, `rename` →
/// `renameat`, ...): its number and arguments. Built from the two table
/// entries: `AT_FDCWD` goes in front of each path argument, the other
/// arguments keep their order, and the at call's flags argument says what
/// the legacy call implied (`lstat`: not followed; `rmdir`: a directory).
pub fn at_form(nr: i64, a: [u64; 6]) -> Option<(i64, [u64; 6])> {
    // (the at call, the legacy call's argument count, its implied flags)
    let (at_nr, count, flags) = match nr {
        sys::SYS_open => (sys::SYS_openat, 3, None),
        sys::SYS_stat => (sys::SYS_newfstatat, 2, None),
        sys::SYS_lstat => (sys::SYS_newfstatat, 2, Some(AT_SYMLINK_NOFOLLOW)),
        sys::SYS_access => (sys::SYS_faccessat, 2, None),
        sys::SYS_readlink => (sys::SYS_readlinkat, 3, None),
        sys::SYS_mkdir => (sys::SYS_mkdirat, 2, None),
        sys::SYS_mknod => (sys::SYS_mknodat, 3, None),
        sys::SYS_rmdir => (sys::SYS_unlinkat, 1, Some(AT_REMOVEDIR)),
        sys::SYS_unlink => (sys::SYS_unlinkat, 1, None),
        sys::SYS_rename => (sys::SYS_renameat, 2, None),
        sys::SYS_link => (sys::SYS_linkat, 2, None),
        sys::SYS_symlink => (sys::SYS_symlinkat, 2, None),
        sys::SYS_chmod => (sys::SYS_fchmodat, 2, None),
        sys::SYS_chown => (sys::SYS_fchownat, 3, None),
        sys::SYS_lchown => (sys::SYS_fchownat, 3, Some(AT_SYMLINK_NOFOLLOW)),
        _ => return None,
    };
    let legacy = classify(nr)?;
    let mut out = [0u64; 6];
    let mut n = 0;
    // At most 3 arguments and 2 paths: 5 fit.
    for (i, &v) in a.iter().enumerate().take(count) {
        if legacy.is_path(i) {
            out[n] = AT_FDCWD as i64 as u64;
            n += 1;
        }
        out[n] = v;
        n += 1;
    }
    let mut at = Args {
        nr: at_nr,
        entry: classify(at_nr)?,
        args: out,
    };
    if let Some(f) = flags {
        at = at.flags(f);
    }
    Some((at_nr, at.args))
}

/// Whether `open` flags follow a final symlink.
pub fn open_follows(flags: u64) -> bool {
    flags & O_NOFOLLOW == 0 && flags & (O_CREAT | O_EXCL) != (O_CREAT | O_EXCL)
}

/// Every syscall name of the table that traps on `arch`, for the build
/// script's filter.
pub fn trapped_names(arch: sys::Arch) -> impl Iterator<Item = &'static str> {
    arch.named().iter().filter_map(move |&(name, nr)| {
        let on_this = match arch {
            // The table is built for this architecture's numbers; another
            // architecture's names are looked up by name here.
            a if a == sys::Arch::THIS => classify(nr),
            _ => sys::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|&(_, nr)| classify(nr)),
        };
        on_this.filter(Entry::traps).map(|_| &name[4..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Syscall `nr` with `(index, value)` arguments, the others 0.
    fn call(nr: i64, v: &[(usize, u64)]) -> Call {
        let mut args = [0u64; 6];
        for &(i, x) in v {
            args[i] = x;
        }
        Call::decode(nr, args).expect("in the table")
    }

    fn invalid(nr: i64, v: &[(usize, u64)]) -> bool {
        call(nr, v).invalid_before_lookup()
    }

    #[test]
    fn bad_modes_and_flags_are_invalid() {
        assert!(invalid(sys::SYS_faccessat, &[(2, 0x10)]));
        assert!(!invalid(sys::SYS_faccessat, &[(2, 7)]));
        assert!(invalid(sys::SYS_faccessat2, &[(3, 1)]));
        assert!(!invalid(
            sys::SYS_faccessat2,
            &[(2, 4), (3, AT_EACCESS | AT_EMPTY_PATH)]
        ));
        assert!(invalid(sys::SYS_newfstatat, &[(3, 1)]));
        assert!(!invalid(
            sys::SYS_newfstatat,
            &[(3, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)]
        ));
        assert!(invalid(sys::SYS_statx, &[(2, 0x6000)]));
        assert!(invalid(sys::SYS_statx, &[(3, STATX_RESERVED)]));
        assert!(!invalid(sys::SYS_statx, &[(2, 0x2000), (3, 0xfff)]));
        assert!(invalid(sys::SYS_fchownat, &[(4, 1)]));
        assert!(invalid(sys::SYS_linkat, &[(4, 0x100)]));
        assert!(!invalid(sys::SYS_linkat, &[(4, 0x400)]));
        assert!(invalid(sys::SYS_unlinkat, &[(2, 1)]));
        assert!(invalid(sys::SYS_renameat2, &[(4, 3)]));
        assert!(invalid(sys::SYS_renameat2, &[(4, 8)]));
        assert!(!invalid(sys::SYS_renameat2, &[(4, 2)]));
        assert!(invalid(sys::SYS_lsetxattr, &[(4, 4)]));
        assert!(!invalid(sys::SYS_lsetxattr, &[(4, 2)]));
        assert!(invalid(sys::SYS_setxattrat, &[(2, 0x400)]));
        assert!(!invalid(sys::SYS_openat, &[(2, u64::MAX)]));
    }

    #[test]
    fn upper_bits_of_32_bit_arguments_are_ignored() {
        assert!(!invalid(sys::SYS_unlinkat, &[(2, 0xffff_ffff_0000_0000)]));
    }

    #[test]
    fn the_flags_argument_decides_what_is_followed() {
        let stat = call(sys::SYS_newfstatat, &[(3, AT_SYMLINK_NOFOLLOW)]);
        let path = stat.entry.paths()[0];
        assert!(!stat.follows(&path));
        assert!(call(sys::SYS_newfstatat, &[]).follows(&path));
        let link = call(sys::SYS_linkat, &[(4, AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)]);
        let [old, new] = link.entry.paths() else {
            panic!("linkat has two paths")
        };
        assert!(link.follows(old) && !link.follows(new));
        assert!(link.empty_path(old) && !link.empty_path(new));
        let open = call(sys::SYS_openat, &[(2, O_NOFOLLOW)]);
        assert!(!open.follows(&open.entry.paths()[0]));
    }

    #[test]
    fn typed_arguments_come_from_the_layout() {
        let stat = call(sys::SYS_newfstatat, &[(0, 5), (1, 0x10), (2, 0x20), (3, 0)]);
        assert_eq!(stat.out(), Some(0x20));
        assert_eq!(stat.dirfd(&stat.entry.paths()[0]), Some(5));
        let cwd = call(sys::SYS_newfstatat, &[(0, (-100i64) as u64)]);
        assert_eq!(cwd.dirfd(&cwd.entry.paths()[0]), None);
        let statx = call(sys::SYS_statx, &[(3, 0x7ff), (4, 0x40)]);
        assert_eq!((statx.mask(), statx.out()), (Some(0x7ff), Some(0x40)));
        let chown = call(sys::SYS_fchownat, &[(2, 1000), (3, u64::from(u32::MAX))]);
        assert_eq!(chown.owner(), Some((1000, u32::MAX)));
        assert_eq!(call(sys::SYS_fchown, &[(0, 3)]).fd(), Some(3));
    }

    /// Registers as a backend holds them.
    struct Regs([u64; 6], i64);
    impl crate::backend::SyscallRegs for Regs {
        fn sysno(&self) -> i64 {
            self.1
        }
        fn arg(&self, i: usize) -> u64 {
            self.0[i]
        }
        fn set_arg(&mut self, i: usize, v: u64) {
            self.0[i] = v;
        }
        fn sp(&self) -> u64 {
            0
        }
        fn ret(&self) -> i64 {
            0
        }
    }

    #[test]
    fn a_call_is_decoded_from_a_backends_registers() {
        let regs = Regs(
            [3, 0x10, 0x20, AT_SYMLINK_NOFOLLOW, 0, 0],
            sys::SYS_newfstatat,
        );
        let c = Call::from_regs(classify(regs.1), &regs);
        assert_eq!((c.out(), c.flags()), (Some(0x20), AT_SYMLINK_NOFOLLOW));
        assert!(!c.follows(&c.entry.paths()[0]));
        let unknown = Call::from_regs(None, &Regs([0; 6], 9999));
        assert!(unknown.entry.paths().is_empty() && unknown.out().is_none());
    }

    /// The kernel's documented argument orders of the `*at` forms (the
    /// man pages), against what the table builds.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn legacy_calls_become_their_at_forms() {
        const CWD: u64 = -100i64 as u64;
        let a = [11, 12, 13, 0xdead, 0xbeef, 0xf00d];
        let want: [(i64, i64, [u64; 6]); 15] = [
            (sys::SYS_open, sys::SYS_openat, [CWD, 11, 12, 13, 0, 0]),
            (sys::SYS_stat, sys::SYS_newfstatat, [CWD, 11, 12, 0, 0, 0]),
            (
                sys::SYS_lstat,
                sys::SYS_newfstatat,
                [CWD, 11, 12, 0x100, 0, 0],
            ),
            (sys::SYS_access, sys::SYS_faccessat, [CWD, 11, 12, 0, 0, 0]),
            (
                sys::SYS_readlink,
                sys::SYS_readlinkat,
                [CWD, 11, 12, 13, 0, 0],
            ),
            (sys::SYS_mkdir, sys::SYS_mkdirat, [CWD, 11, 12, 0, 0, 0]),
            (sys::SYS_mknod, sys::SYS_mknodat, [CWD, 11, 12, 13, 0, 0]),
            (sys::SYS_rmdir, sys::SYS_unlinkat, [CWD, 11, 0x200, 0, 0, 0]),
            (sys::SYS_unlink, sys::SYS_unlinkat, [CWD, 11, 0, 0, 0, 0]),
            (sys::SYS_rename, sys::SYS_renameat, [CWD, 11, CWD, 12, 0, 0]),
            (sys::SYS_link, sys::SYS_linkat, [CWD, 11, CWD, 12, 0, 0]),
            (sys::SYS_symlink, sys::SYS_symlinkat, [11, CWD, 12, 0, 0, 0]),
            (sys::SYS_chmod, sys::SYS_fchmodat, [CWD, 11, 12, 0, 0, 0]),
            (sys::SYS_chown, sys::SYS_fchownat, [CWD, 11, 12, 13, 0, 0]),
            (
                sys::SYS_lchown,
                sys::SYS_fchownat,
                [CWD, 11, 12, 13, 0x100, 0],
            ),
        ];
        for (legacy, at, args) in want {
            assert_eq!(at_form(legacy, a), Some((at, args)), "{legacy}");
        }
        assert_eq!(at_form(sys::SYS_openat, a), None);
    }

    #[test]
    fn arguments_are_built_by_role() {
        let st = Args::of(sys::SYS_newfstatat)
            .unwrap()
            .dirfd(0, 3)
            .path(0, 0x10)
            .out(0x20)
            .flags(AT_SYMLINK_NOFOLLOW);
        assert_eq!(st.args, [3, 0x10, 0x20, AT_SYMLINK_NOFOLLOW, 0, 0]);
        let c = Call::decode(st.nr, st.args).unwrap();
        assert_eq!(
            (c.out(), c.dirfd(&c.entry.paths()[0])),
            (Some(0x20), Some(3))
        );
    }

    #[test]
    fn every_trapping_entry_has_a_name_on_both_architectures() {
        for arch in [sys::Arch::X86_64, sys::Arch::Aarch64] {
            let names: alloc::vec::Vec<&str> = trapped_names(arch).collect();
            assert!(names.contains(&"openat") && names.contains(&"setxattrat"));
            assert!(
                !names.contains(&"fstat"),
                "fstat is listed for its layout only"
            );
            assert_eq!(names.contains(&"open"), arch == sys::Arch::X86_64);
        }
    }

    #[test]
    fn numbers_are_the_kernels() {
        assert_eq!(sys::x86_64::SYS_newfstatat, 262);
        assert_eq!(sys::aarch64::SYS_newfstatat, 79);
        assert_eq!(sys::x86_64::SYS_openat, 257);
        assert_eq!(sys::aarch64::SYS_openat, 56);
        assert_eq!(sys::x86_64::SYS_setxattrat, 463);
        assert_eq!(sys::aarch64::SYS_file_setattr, 469);
        const { assert!(sys::aarch64::SYS_open < -1) };
    }

    #[test]
    fn open_does_not_follow_with_nofollow_or_create_exclusive() {
        assert!(open_follows(0));
        assert!(open_follows(O_CREAT | 1));
        assert!(!open_follows(O_NOFOLLOW));
        assert!(!open_follows(O_CREAT | O_EXCL));
    }
}
