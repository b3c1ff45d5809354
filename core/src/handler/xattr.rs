//! Fake root's `*xattr` calls. Attributes in the privileged namespaces
//! (`trusted.*`, `security.*`, see [`crate::ext::fake_xattr`]) that the
//! guest sets are kept in the run's shared state; every other call, and
//! every error the kernel finds before it looks at the file (flags, name,
//! size), is left to the kernel, so the guest gets the kernel's own
//! answers.

use super::{Ctx, Outcome};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::fake_xattr::{self, FileKey};
use crate::prelude::*;
use crate::sysno as sys;
use crate::table::{AT_FDCWD, Xattr};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Set,
    Get,
    List,
    Remove,
}

/// How the call names its file.
#[derive(Clone, Copy)]
enum Via {
    /// Its path argument (followed or not, relative to a dirfd or not, as
    /// the table says).
    Path,
    Fd,
}

/// Which operation a call is; where its arguments are is the table's
/// (`Entry::xattr`).
fn classify(nr: i64) -> Option<(Op, Via)> {
    Some(match nr {
        sys::SYS_setxattr | sys::SYS_lsetxattr | sys::SYS_setxattrat => (Op::Set, Via::Path),
        sys::SYS_fsetxattr => (Op::Set, Via::Fd),
        sys::SYS_getxattr | sys::SYS_lgetxattr | sys::SYS_getxattrat => (Op::Get, Via::Path),
        sys::SYS_fgetxattr => (Op::Get, Via::Fd),
        sys::SYS_listxattr | sys::SYS_llistxattr | sys::SYS_listxattrat => (Op::List, Via::Path),
        sys::SYS_flistxattr => (Op::List, Via::Fd),
        sys::SYS_removexattr | sys::SYS_lremovexattr | sys::SYS_removexattrat => {
            (Op::Remove, Via::Path)
        }
        sys::SYS_fremovexattr => (Op::Remove, Via::Fd),
        _ => return None,
    })
}

/// A call's name pointer, value (or buffer) pointer, size and flags, read
/// where the table says: in the arguments, or in a `struct xattr_args`.
struct Operands {
    name: u64,
    value: u64,
    size: u64,
    flags: u32,
}

/// `XATTR_ARGS_SIZE_VER0`: the first `struct xattr_args`.
const XATTR_ARGS_SIZE: u64 = 16;

fn operands<R: SyscallRegs>(ctx: &Ctx<R>, x: Xattr) -> Result<Operands, Errno> {
    let a = |i: usize| ctx.arg(i);
    Ok(match x {
        Xattr::Args { name, value } => Operands {
            name: a(name),
            value: a(value),
            size: a(value + 1),
            flags: a(value + 2) as u32,
        },
        Xattr::Struct { name, args } => {
            // The kernel's own checks of the structure come first.
            if a(args + 1) < XATTR_ARGS_SIZE {
                return Err(Errno::EINVAL);
            }
            let mut b = [0u8; XATTR_ARGS_SIZE as usize];
            ctx.read(a(args), &mut b).map_err(|_| Errno::EFAULT)?;
            let word = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            Operands {
                name: a(name),
                value: u64::from_ne_bytes(b[..8].try_into().unwrap_or_default()),
                size: u64::from(word(8)),
                flags: word(12),
            }
        }
        Xattr::List { list } => Operands {
            name: 0,
            value: a(list),
            size: a(list + 1),
            flags: 0,
        },
        Xattr::Name { name } => Operands {
            name: a(name),
            value: 0,
            size: 0,
            flags: 0,
        },
    })
}

/// The file a call acts on: its key and a host path to list it by.
struct File {
    key: FileKey,
    host: Vec<u8>,
    follow: bool,
}

fn lookup<R: SyscallRegs>(ctx: &Ctx<R>, via: Via) -> Result<File, Errno> {
    let (host, follow, fd) = match via {
        Via::Fd => {
            let fd = ctx.arg(0) as i32;
            if fd == AT_FDCWD {
                // The kernel treats an f*xattr call on AT_FDCWD as one on the
                // current directory (a NULL path with AT_EMPTY_PATH).
                (ctx.named_fd(fd)?.0, true, false)
            } else {
                if fd < 0 || ctx.host.fd_is_o_path(ctx.proc.tid(), fd)? {
                    return Err(Errno::EBADF);
                }
                let p = ctx.fd_link(fd);
                // Pipes, sockets and anonymous inodes keep no attributes.
                let target = ctx.host.readlink(&p).map_err(|_| Errno::EBADF)?;
                if target.first() != Some(&b'/') {
                    return Err(Errno::EOPNOTSUPP);
                }
                (p, true, true)
            }
        }
        Via::Path => {
            let call = ctx.call();
            let path = call.entry.path_arg(0).ok_or(Errno::ENOSYS)?;
            let follow = call.follows(&path);
            let (host, fd) = ctx.named(&call, &path)?;
            (host, follow, fd)
        }
    };
    let st = ctx.host.stat(&host, follow).map_err(|e| match e {
        Errno::ENOENT if fd => Errno::EBADF,
        e => e,
    })?;
    Ok(File {
        key: super::stat::file_key(&st),
        host,
        follow,
    })
}

/// Handle an `*xattr` call of a fake root; `None`: the kernel's to run.
pub fn enter<R: SyscallRegs>(ctx: &mut Ctx<R>) -> Result<Option<Outcome>, Errno> {
    let (Some((op, via)), Some(x)) = (classify(ctx.sysno()), ctx.entry().and_then(|e| e.xattr))
    else {
        return Ok(None);
    };
    // What the kernel checks before it looks at the file, in its order:
    // lookup flags, xattr flags, name, value size, value. Answered here,
    // so that a path that also fails to resolve does not change the error.
    if ctx.invalid_flags() {
        return Err(Errno::EINVAL);
    }
    let o = operands(ctx, x)?;
    let name = if op == Op::List {
        Vec::new()
    } else {
        if op == Op::Set {
            fake_xattr::check_set(o.flags, b"-", 0)?;
        }
        let name = match ctx.read_cstring(o.name, fake_xattr::NAME_MAX) {
            Err(Errno::ENAMETOOLONG) => return Err(Errno::ERANGE),
            r => r?,
        };
        fake_xattr::check_name(&name)?;
        if op == Op::Set {
            fake_xattr::check_set(o.flags, &name, o.size as usize)?;
        }
        name
    };
    if op != Op::List && !fake_xattr::is_privileged(&name) {
        return Ok(None);
    }
    let value = if op == Op::Set && o.size > 0 {
        let mut v = vec![0u8; o.size as usize];
        ctx.read(o.value, &mut v).map_err(|_| Errno::EFAULT)?;
        v
    } else {
        Vec::new()
    };
    let file = lookup(ctx, via)?;
    let store = ctx.shared;
    let v = match op {
        Op::Set => {
            store.xattr_set(file.key, &name, &value, o.flags)?;
            0
        }
        Op::Get => {
            let Ok(v) = store.xattr_get(file.key, &name) else {
                // Not ours: what the kernel has (or ENODATA).
                return Ok(None);
            };
            copy_out(ctx, o.value, o.size, &v)?
        }
        Op::Remove => {
            store.xattr_remove(file.key, &name)?;
            0
        }
        Op::List => {
            if !store.xattr_has_any(file.key) {
                return Ok(None);
            }
            let kernel = ctx.host.listxattr(&file.host, file.follow)?;
            let all = store.xattr_list(file.key, &kernel)?;
            copy_out(ctx, o.value, o.size, &all)?
        }
    };
    Ok(Some(Outcome::Emulated(v)))
}

/// Copy a value or list to the guest's buffer of `size` bytes, as the
/// kernel does: size 0 asks for the length, a short buffer is `ERANGE`.
fn copy_out<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    addr: u64,
    size: u64,
    data: &[u8],
) -> Result<i64, Errno> {
    if fake_xattr::fits(data.len(), size as usize)? {
        ctx.to_guest(addr, data)?;
    }
    Ok(data.len() as i64)
}
