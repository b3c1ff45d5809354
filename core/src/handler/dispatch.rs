//! The table's handlers by kind, as every backend runs them. What stays
//! the backend's: `execve` (each runs a plan its own way), the clone flags
//! (the ptrace backend also drops `CLONE_UNTRACED` and reads `clone3`'s
//! structure), and `-n`'s binds, which a backend answers before this.

use super::{Ctx, Outcome, net, openat2, paths};
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::ext::net::Ports;
use crate::table::{self, Kind};

/// `prctl`'s option that makes a process non-dumpable.
const PR_SET_DUMPABLE: u64 = 4;

/// The handler of a call of kind `kind`; `None` for the backend's own
/// kinds (`Exec`, `CloneFlags`). `euid` is the effective uid the guest has
/// (`chroot` needs root).
pub fn run<R: SyscallRegs>(
    ctx: &mut Ctx<R>,
    kind: Kind,
    ports: &Ports,
    euid: impl FnOnce() -> u32,
) -> Option<Result<Outcome, Errno>> {
    Some(match kind {
        Kind::Exec { .. } | Kind::CloneFlags { .. } => return None,
        // A path that does not translate: bad flags were the kernel's
        // first answer.
        Kind::Paths(args) => paths::translate(ctx, args),
        Kind::Native => Ok(Outcome::Pass),
        Kind::Getcwd => paths::getcwd(ctx),
        Kind::Readlink {
            dirfd,
            path,
            buf,
            size,
        } => paths::readlink(ctx, dirfd, path, buf, size),
        Kind::SockAddr { addr, len, bind } => net::sockaddr(ctx, ports, addr, len, bind),
        Kind::SendMsg => net::sendmsg(ctx, ports),
        Kind::SendMmsg => net::sendmmsg(ctx, ports),
        Kind::AddrOut { addr, len } => net::addr_out(ctx, addr, len),
        Kind::RecvMsg => net::recvmsg(ctx),
        Kind::RecvMmsg => net::recvmmsg(ctx),
        Kind::BpfObj => paths::bpf_obj(ctx),
        Kind::Chroot => paths::chroot(ctx, euid()),
        Kind::OpenTree(path) => {
            if ctx.call().flags() & table::OPEN_TREE_CLONE != 0 {
                // A new mount: not emulated.
                Err(Errno::EPERM)
            } else {
                paths::translate(ctx, &[path])
            }
        }
        Kind::Openat2 => openat2::enter(ctx),
        // A non-dumpable guest would close its /proc to sproot.
        Kind::Prctl => Ok(if ctx.arg(0) == PR_SET_DUMPABLE && ctx.arg(1) == 0 {
            Outcome::Emulated(0)
        } else {
            Outcome::Pass
        }),
        Kind::Refuse(e) => Err(e),
    })
}
