//! Adaptive polling of `waitpid` before blocking.
//!
//! On a machine with few CPUs most of the cost of a ptrace stop is waking
//! the sleeping tracer, often on another CPU. When stops come in quick
//! succession (a `find`, a `tar -x`), polling `waitpid(WNOHANG)` for a few
//! tens of microseconds catches the next stop without that wake-up. When
//! they do not (a compiler between two `open`s), polling only burns a CPU a
//! guest thread could use, so the budget halves after each poll that found
//! nothing, down to zero, and is probed again now and then.

/// Blocking waits at budget zero before polling is tried again.
const PROBE_EVERY: u32 = 32;
/// Below this budget polling is not worth it.
const MIN_US: u64 = 8;

pub struct Spinner {
    max_us: u64,
    budget_us: u64,
    idle_waits: u32,
}

impl Spinner {
    /// `max_us == 0` turns polling off.
    pub fn new(max_us: u64) -> Self {
        Spinner {
            max_us,
            budget_us: max_us,
            idle_waits: 0,
        }
    }

    /// How long to poll before the next blocking wait (0: block at once).
    pub fn budget(&mut self) -> u64 {
        if self.max_us == 0 {
            return 0;
        }
        if self.budget_us == 0 {
            self.idle_waits += 1;
            if self.idle_waits >= PROBE_EVERY {
                self.idle_waits = 0;
                return (self.max_us / 4).max(MIN_US);
            }
            return 0;
        }
        self.budget_us
    }

    /// The poll found a report (`true`) or ran out of budget (`false`).
    pub fn polled(&mut self, found: bool) {
        if self.max_us == 0 {
            return;
        }
        if found {
            self.budget_us = self.max_us;
        } else {
            self.budget_us /= 2;
            if self.budget_us < MIN_US {
                self.budget_us = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_halves_on_misses_and_recovers_on_a_hit() {
        let mut s = Spinner::new(128);
        assert_eq!(s.budget(), 128);
        s.polled(false);
        assert_eq!(s.budget(), 64);
        for _ in 0..4 {
            s.polled(false);
        }
        assert_eq!(s.budget(), 0, "gives up below the minimum");
        s.polled(true);
        assert_eq!(s.budget(), 128);
    }

    #[test]
    fn polling_is_probed_again_after_idle_waits() {
        let mut s = Spinner::new(100);
        for _ in 0..10 {
            s.polled(false);
        }
        let budgets: Vec<u64> = (0..PROBE_EVERY).map(|_| s.budget()).collect();
        assert_eq!(budgets.iter().filter(|&&b| b > 0).count(), 1);
        assert_eq!(*budgets.last().unwrap(), 25);
    }

    #[test]
    fn zero_max_never_polls() {
        let mut s = Spinner::new(0);
        s.polled(true);
        assert_eq!(s.budget(), 0);
    }
}
