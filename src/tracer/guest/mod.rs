//! Guests that trace or filter other guests: ptrace used by guests
//! themselves (a guest tracer's requests, its tracees' stops shown to it,
//! its waits), and the seccomp filters guests install (recorded, evaluated
//! at sproot's stops, `SECCOMP_RET_TRACE` shown to a guest tracer).
//!
//! * [`tracing`]: the guest tracers' state: who traces whom, what each
//!   tracee reported, what is held for a tracer (pure);
//! * `hooks`: the event loop's side of guest ptrace (ptrace, `wait4`,
//!   `waitid`, stops shown and held), through
//! * [`backend`]: what the hooks do to real tasks (the kernel, or a fake);
//! * `requests`: a guest tracer's requests forwarded, wait results
//!   written out;
//! * `arch`: the architecture-specific register edits;
//! * [`filters`]: the guests' own filters, per process (pure);
//! * `filter_hooks`: the event loop's side of guest filters;
//! * `model`: an event-order model driving the hooks over fake tasks
//!   (tests only).

mod arch;
pub mod backend;
pub(super) mod filter_hooks;
pub mod filters;
pub(super) mod hooks;
// Pure logic over fake tasks, with no architecture in it: run on x86_64
// only (its exhaustive orders are far too slow on the emulated aarch64 CPU
// of scripts/test-a64.sh, as tracer::model's are).
#[cfg(all(test, target_arch = "x86_64"))]
mod model;
mod requests;
pub mod tracing;
