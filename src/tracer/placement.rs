//! Where the tracer and its guests run.
//!
//! On a machine with few CPUs most of the cost of a ptrace stop is the
//! wake-up of a sleeping task on another CPU. When one guest thread makes
//! stop after stop (`find`, `tar -x`, Node.js resolving modules), running it
//! and the tracer on the same CPU turns each stop into a cheap local switch.
//! When several guest threads make stops, or other threads need CPU, that
//! pinning would serialise them. The policy here, `Placement::Adaptive`,
//! pins only the *hot pair*: the tracer and the one thread that made the
//! last run of stops, and lets go as soon as stops come from elsewhere. The
//! hot thread's children are released at birth.
//!
//! The decisions are pure ([`HotPair`]); the tracer carries them out with
//! `sched_setaffinity`.

/// The placement policy (`--placement`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The kernel places everything (plus adaptive polling).
    Free,
    /// Pin the tracer and the thread making a run of stops to one CPU.
    Adaptive,
    /// Tracer and all guests on one CPU.
    Pinned,
}

impl std::str::FromStr for Placement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "free" => Ok(Placement::Free),
            "adaptive" => Ok(Placement::Adaptive),
            "pinned" => Ok(Placement::Pinned),
            _ => Err(format!("unknown placement {s:?} (free, adaptive, pinned)")),
        }
    }
}

/// Affinity changes the tracer must make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Pin the tracer and thread `tid` to the CPU the tracer is on.
    Pin { tid: i32 },
    /// Let thread `tid` (if still there) and the tracer run anywhere again.
    Release { tid: i32 },
    /// A child of the pinned thread inherited its affinity: free it.
    FreeChild { tid: i32 },
}

/// Stops in a row from one thread before the pair is pinned.
const STREAK_TO_PIN: u32 = 24;
/// Of the last `WINDOW` stops while pinned, this many from other threads
/// release the pair.
const WINDOW: u32 = 32;
const OTHERS_TO_RELEASE: u32 = 6;

/// The hot-pair state machine.
#[derive(Default)]
pub struct HotPair {
    last: i32,
    streak: u32,
    pinned: Option<i32>,
    seen: u32,
    others: u32,
}

impl HotPair {
    /// A syscall stop of thread `tid`.
    pub fn on_stop(&mut self, tid: i32) -> Option<Move> {
        match self.pinned {
            None => {
                if tid == self.last {
                    self.streak += 1;
                } else {
                    self.last = tid;
                    self.streak = 1;
                }
                if self.streak >= STREAK_TO_PIN {
                    self.pinned = Some(tid);
                    self.seen = 0;
                    self.others = 0;
                    return Some(Move::Pin { tid });
                }
                None
            }
            Some(hot) => {
                self.seen += 1;
                if tid != hot {
                    self.others += 1;
                }
                if self.others >= OTHERS_TO_RELEASE {
                    return self.release();
                }
                if self.seen >= WINDOW {
                    self.seen = 0;
                    self.others = 0;
                }
                None
            }
        }
    }

    /// Thread `parent` created thread `child`.
    pub fn on_new_child(&mut self, parent: i32, child: i32) -> Option<Move> {
        (self.pinned == Some(parent)).then_some(Move::FreeChild { tid: child })
    }

    /// Thread `tid` is gone.
    pub fn on_gone(&mut self, tid: i32) -> Option<Move> {
        if self.pinned == Some(tid) {
            return self.release();
        }
        None
    }

    fn release(&mut self) -> Option<Move> {
        let tid = self.pinned.take()?;
        self.streak = 0;
        self.last = 0;
        Some(Move::Release { tid })
    }

    pub fn pinned(&self) -> Option<i32> {
        self.pinned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_stops_from_one_thread_pins_it() {
        let mut h = HotPair::default();
        for _ in 0..STREAK_TO_PIN - 1 {
            assert_eq!(h.on_stop(7), None);
        }
        assert_eq!(h.on_stop(7), Some(Move::Pin { tid: 7 }));
        assert_eq!(h.pinned(), Some(7));
    }

    #[test]
    fn interleaved_threads_never_pin() {
        let mut h = HotPair::default();
        for i in 0..1000 {
            assert_eq!(h.on_stop(if i % 2 == 0 { 1 } else { 2 }), None);
        }
    }

    #[test]
    fn stops_from_other_threads_release_the_pair() {
        let mut h = HotPair::default();
        for _ in 0..STREAK_TO_PIN {
            h.on_stop(7);
        }
        let mut released = None;
        for i in 0..20 {
            if let Some(m) = h.on_stop(if i % 2 == 0 { 7 } else { 8 }) {
                released = Some(m);
                break;
            }
        }
        assert_eq!(released, Some(Move::Release { tid: 7 }));
        assert_eq!(h.pinned(), None);
    }

    #[test]
    fn rare_stops_from_others_keep_the_pair() {
        let mut h = HotPair::default();
        for _ in 0..STREAK_TO_PIN {
            h.on_stop(7);
        }
        for i in 0..10 * WINDOW {
            let tid = if i % WINDOW == 0 { 9 } else { 7 };
            assert_eq!(h.on_stop(tid), None);
        }
    }

    #[test]
    fn children_of_the_pinned_thread_are_freed_and_its_exit_releases() {
        let mut h = HotPair::default();
        for _ in 0..STREAK_TO_PIN {
            h.on_stop(7);
        }
        assert_eq!(h.on_new_child(7, 12), Some(Move::FreeChild { tid: 12 }));
        assert_eq!(h.on_new_child(3, 13), None);
        assert_eq!(h.on_gone(12), None);
        assert_eq!(h.on_gone(7), Some(Move::Release { tid: 7 }));
    }
}
