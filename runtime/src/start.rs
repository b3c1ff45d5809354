//! The runtime's start: the hand-off out of the environment, the handler
//! (and at the first start the filter) in place, the program mapped.

use alloc::sync::Arc;
use alloc::vec::Vec;

use sproot_core::fs::{Binding, GuestView};
use sproot_core::inproc::{env_value, Handoff};
use sproot_core::shared::MappedState;

use crate::host::{self, sc, RtHost, State};
use crate::{heap, map, nr, trap};

const PR_SET_NO_NEW_PRIVS: usize = 38;
const SECCOMP_SET_MODE_FILTER: usize = 1;

fn cstr_at(p: *const u8) -> &'static [u8] {
    let mut n = 0;
    // SAFETY: the kernel's argv/envp strings are NUL-terminated and stay
    // for the life of the process.
    unsafe {
        while core::ptr::read_volatile(p.add(n)) != 0 {
            n += 1;
        }
        core::slice::from_raw_parts(p, n)
    }
}

/// Find the hand-off in the environment of the kernel-built stack at `sp`
/// and take it out: the later entries move up one, and so does the
/// auxiliary vector, so that the program sees the environment it was
/// given. The auxiliary vector's new place comes with it.
fn take_handoff(sp: *mut u64) -> (Handoff, *mut u64) {
    // SAFETY: the kernel lays out argc, argv[], NULL, envp[], NULL, auxv
    // pairs up to AT_NULL at the initial stack pointer; everything read
    // and moved stays inside that layout.
    unsafe {
        let argc = core::ptr::read(sp) as usize;
        let envp = sp.add(1 + argc + 1);
        let mut n = 0;
        let mut found = None;
        while core::ptr::read(envp.add(n)) != 0 {
            let s = cstr_at(core::ptr::read(envp.add(n)) as *const u8);
            if found.is_none() {
                if let Some(v) = env_value(s) {
                    found = Some((n, v));
                }
            }
            n += 1;
        }
        let Some((at, value)) = found else {
            host::fatal(b"no hand-off in the environment (it runs under sproot --engine=inproc)");
        };
        let handoff = match Handoff::from_env_value(value) {
            Ok(h) => h,
            Err(_) => host::fatal(b"the hand-off is not this runtime's"),
        };
        // Its text goes too: /proc/self/environ reads the kernel's copy of
        // the environment, which cannot shrink, so it shows NUL bytes
        // where the hand-off was (the runtime's exec puts it last).
        let text = core::ptr::read(envp.add(at)) as *mut u8;
        core::ptr::write_bytes(text, 0, cstr_at(text).len());
        // envp[at..n] moves up over the hand-off; the old NULL at envp[n]
        // becomes free, and auxv (from envp[n + 1]) moves up one word.
        for i in at..n {
            core::ptr::write(envp.add(i), core::ptr::read(envp.add(i + 1)));
        }
        let mut src = envp.add(n + 1);
        let mut dst = envp.add(n);
        let auxv = dst;
        loop {
            let key = core::ptr::read(src);
            let val = core::ptr::read(src.add(1));
            core::ptr::write(dst, key);
            core::ptr::write(dst.add(1), val);
            if key == 0 {
                break;
            }
            src = src.add(2);
            dst = dst.add(2);
        }
        (handoff, auxv)
    }
}

/// The fake credentials of the program starting: the exec's (a
/// set-user-ID or set-group-ID program takes its fake owner's ids, as
/// `Creds::exec` says), told to the program in the auxiliary vector
/// (`AT_UID`...) as the kernel tells the real ones; `-k`'s `AT_HWCAP`.
fn exec_creds(handoff: &Handoff, shared: Option<&MappedState<'static>>, auxv: *mut u64) {
    use sproot_core::ext::fake_id::Creds;
    use sproot_core::handler::Host;
    use sproot_core::shared::SharedState;
    const AT_HWCAP: u64 = 16;
    let hwcap = handoff.ext.hwcap;
    let Some(mut creds) = handoff.ext.creds.clone() else {
        if let Some(h) = hwcap {
            patch_auxv(auxv, |key| (key == AT_HWCAP).then_some(h));
        }
        return;
    };
    if let Ok(st) = RtHost.meta(&handoff.exe_host, true) {
        let (ru, rg) = handoff.ext.real;
        let shown = shared
            .and_then(|s| s.owner((st.dev, st.ino)))
            .unwrap_or_else(|| Creds::exec_owner(ru, rg, st.uid, st.gid));
        creds.exec(st.mode, shown.0, shown.1);
    }
    const AT_UID: u64 = 11;
    const AT_EUID: u64 = 12;
    const AT_GID: u64 = 13;
    const AT_EGID: u64 = 14;
    patch_auxv(auxv, |key| match key {
        AT_UID => Some(u64::from(creds.ruid)),
        AT_EUID => Some(u64::from(creds.euid)),
        AT_GID => Some(u64::from(creds.rgid)),
        AT_EGID => Some(u64::from(creds.egid)),
        AT_HWCAP => hwcap,
        _ => None,
    });
    host::with_creds(|c| *c = Some(creds));
}

/// Replace the values `new` gives in the auxiliary vector at `auxv`.
fn patch_auxv(auxv: *mut u64, new: impl Fn(u64) -> Option<u64>) {
    // SAFETY: `auxv` is the kernel-built auxiliary vector, pairs up to
    // AT_NULL, writable.
    unsafe {
        let mut p = auxv;
        loop {
            let key = core::ptr::read(p);
            if key == 0 {
                break;
            }
            if let Some(v) = new(key) {
                core::ptr::write(p.add(1), v);
            }
            p = p.add(2);
        }
    }
}

fn install_filter(filter: &[u8]) {
    if sc(nr::PRCTL, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]) < 0 {
        host::fatal(b"prctl(PR_SET_NO_NEW_PRIVS) failed");
    }
    #[repr(C)]
    struct Prog {
        len: u16,
        filter: *const u8,
    }
    let prog = Prog {
        len: (filter.len() / 8) as u16,
        filter: filter.as_ptr(),
    };
    let r = sc(
        nr::SECCOMP,
        [
            SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const Prog as usize,
            0,
            0,
            0,
        ],
    );
    if r < 0 {
        host::fatal(b"seccomp(SECCOMP_SET_MODE_FILTER) failed");
    }
}

#[no_mangle]
extern "C" fn runtime_main(sp: *mut u64) -> ! {
    heap::init();
    let (handoff, auxv) = take_handoff(sp);
    crate::logger::init(handoff.verbose);
    let bindings = handoff
        .bindings
        .iter()
        .map(|(h, g)| Binding {
            host: h.clone(),
            guest: g.clone(),
        })
        .collect();
    let mut view = GuestView::new(Arc::new(RtHost), &handoff.root, bindings);
    // Each slot translates with its own copy (host::slot_view), which
    // keeps the names the process used for host paths with several (a
    // single-threaded process always runs in slot 0; a fork child has its
    // parent's); this one is only copied, and keeps no caches.
    view.set_cache(false);
    view.set_link2symlink(handoff.ext.link2symlink);
    if let Some((guest, host)) = &handoff.cwd_name {
        let pid = host::getpid();
        view.remember_name(pid, pid, sproot_core::fs::NameUse::Cwd, guest, host);
    }
    let shared = host::map_shared(&handoff.shared);
    // What /proc/<pid>/exe shows the other guest processes, from now on
    // (a clock read: the process's own start time would cost a first
    // look at /proc/self, ~50 µs in a new process).
    if let Some(sh) = &shared {
        sh.set_exe(host::getpid(), host::boot_ticks(), &handoff.exe_host);
    }
    let generation = shared
        .as_ref()
        .filter(|_| handoff.cache)
        .map(|s| s.generation());
    if let Some(g) = &handoff.glue {
        view.set_glue(g);
    }
    exec_creds(&handoff, shared.as_ref(), auxv);
    crate::guest_filters::init(&handoff.guest_filters);
    let filter = core::mem::take(&mut { handoff.filter.clone() });
    // The script, 8-aligned for the loader's word reads.
    let mut script: Vec<u64> = alloc::vec![0; handoff.script.len().div_ceil(8)];
    for (i, c) in handoff.script.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        script[i] = u64::from_le_bytes(w);
    }
    host::set_state(State {
        view,
        handoff,
        shared,
        generation,
    });
    trap::install();
    if !filter.is_empty() {
        install_filter(&filter);
    }
    if script.is_empty() {
        host::fatal(b"no program to load");
    }
    let (sp, entry) = map::load(script.as_ptr(), Some(sp as usize));
    keep_held_program();
    map::jump_to_guest(sp, entry)
}

/// A program run through a descriptor (exec.rs) was mapped from the
/// runtime's copy of it: the copy stays open, for `/proc/self/exe`, but
/// not past the next `execve`.
fn keep_held_program() {
    if let Some(fd) = crate::exec::held_fd_of(&host::state().handoff.exe_host) {
        crate::exec::set_cloexec(fd, true);
    }
}
