//! Per-architecture facts: register access, the red zone, syscall numbers.
//!
//! Only x86_64 is wired up today. `filters/aarch64.json` exists so the
//! filter side is ready, but the tracer refuses to start elsewhere.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(not(target_arch = "x86_64"))]
compile_error!("sproot's tracer supports x86_64 only for now");
