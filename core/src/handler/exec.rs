//! What an `execve` or `execveat` asks for, read from the stopped call:
//! the program's name (or, for `fexecve`, the descriptor's file), the
//! directory a relative name starts from, and argv. Each backend plans it
//! with [`crate::exec::plan_exec`] and runs the plan its own way.

use super::Ctx;
use crate::Errno;
use crate::backend::SyscallRegs;
use crate::prelude::*;

/// `execveat`'s flag: an empty name means the descriptor itself.
const AT_EMPTY_PATH: u64 = 0x1000;
/// The most argv entries read (`E2BIG` past it).
pub const MAX_ARGS: usize = 1 << 17;
/// The longest argv or environment string read.
const MAX_STRING: usize = 1 << 20;

/// An exec as the guest asked for it.
#[derive(Debug)]
pub struct ExecCall {
    /// The name given (for `fexecve`, the descriptor's file's guest name).
    pub filename: Vec<u8>,
    /// `fexecve`: (that name, the host path the program is read from).
    pub pinned: Option<(Vec<u8>, Vec<u8>)>,
    /// The guest directory a relative name starts from.
    pub base: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    /// The arguments holding argv's and the environment's arrays.
    pub argv_arg: usize,
    pub envp_arg: usize,
}

/// A NULL-terminated array of pointers at `at` (`E2BIG` past
/// [`MAX_ARGS`]).
pub fn read_ptrs<R: SyscallRegs>(ctx: &Ctx<R>, mut at: u64) -> Result<Vec<u64>, Errno> {
    let mut out = Vec::new();
    if at == 0 {
        return Ok(out);
    }
    loop {
        let p = ctx.read_u64(at)?;
        if p == 0 {
            return Ok(out);
        }
        out.push(p);
        if out.len() > MAX_ARGS {
            return Err(Errno::E2BIG);
        }
        at += 8;
    }
}

/// The strings the pointers of [`read_ptrs`] point to.
pub fn read_strings<R: SyscallRegs>(ctx: &Ctx<R>, ptrs: &[u64]) -> Result<Vec<Vec<u8>>, Errno> {
    ptrs.iter()
        .map(|&p| ctx.read_cstring(p, MAX_STRING))
        .collect()
}

/// Read `execve` (`execveat` when `at`). `program_of_fd` gives the
/// (guest name, host path) of the file a descriptor names, for `fexecve`.
pub fn read_call<R: SyscallRegs>(
    ctx: &Ctx<R>,
    at: bool,
    program_of_fd: impl FnOnce(i32) -> Result<(Vec<u8>, Vec<u8>), Errno>,
) -> Result<ExecCall, Errno> {
    let (dirfd, path_arg, argv_arg, envp_arg) = if at {
        (Some(0), 1, 2, 3)
    } else {
        (None, 0, 1, 2)
    };
    let mut filename = ctx.read_path(path_arg)?;
    let mut pinned = None;
    if at && filename.is_empty() && ctx.arg(4) & AT_EMPTY_PATH != 0 {
        let (name, host) = program_of_fd(ctx.arg(0) as i32)?;
        filename = name.clone();
        pinned = Some((name, host));
    }
    let base = if filename.first() == Some(&b'/') {
        b"/".to_vec()
    } else {
        ctx.base_dir(dirfd)?
    };
    let argv = read_strings(ctx, &read_ptrs(ctx, ctx.arg(argv_arg))?)?;
    Ok(ExecCall {
        filename,
        pinned,
        base,
        argv,
        argv_arg,
        envp_arg,
    })
}
