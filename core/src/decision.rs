//! What the core decides for one syscall stop; a backend (the ptrace
//! tracer today) applies it.

/// The decision for one syscall: what the backend does with it.
///
/// `H` is the work due at the syscall's exit, `X` an exec's plan: both
/// are the backend's types.
#[derive(Debug)]
pub enum Decision<H, X> {
    /// Nothing changed: the kernel runs the syscall as is.
    Pass,
    /// The arguments were rewritten: the backend writes them, then the
    /// kernel runs the syscall.
    Rewritten,
    /// The syscall does not run: it returns this value (negative errno).
    Emulated(i64),
    /// An exec rewritten to start the loader; the plan waits for the exec.
    Exec(X),
    /// Run the syscall (arguments rewritten if `rewritten`) and call back
    /// with `hook` at its exit.
    WithExit { rewritten: bool, hook: H },
}

impl<H, X> Decision<H, X> {
    /// The one conversion of a handler's error: the syscall does not run
    /// and returns `-errno`.
    pub fn err(e: impl Into<crate::Errno>) -> Self {
        Decision::Emulated(e.into().ret())
    }

    /// Whether the backend must write the arguments back.
    pub fn rewrites(&self) -> bool {
        matches!(
            self,
            Decision::Rewritten
                | Decision::WithExit {
                    rewritten: true,
                    ..
                }
        )
    }

    /// The same decision with its exit hook and exec plan converted (a
    /// backend's own types for them).
    pub fn map<H2, X2>(
        self,
        hook: impl FnOnce(H) -> H2,
        exec: impl FnOnce(X) -> X2,
    ) -> Decision<H2, X2> {
        match self {
            Decision::Pass => Decision::Pass,
            Decision::Rewritten => Decision::Rewritten,
            Decision::Emulated(v) => Decision::Emulated(v),
            Decision::Exec(x) => Decision::Exec(exec(x)),
            Decision::WithExit { rewritten, hook: h } => Decision::WithExit {
                rewritten,
                hook: hook(h),
            },
        }
    }
}
