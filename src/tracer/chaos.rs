//! Chaos mode, for testing: `SPROOT_CHAOS=<seed>` makes the event loop
//! handle each batch in a seeded random order instead of the priority order,
//! and hold some events back to the next batch. Runs that pass under it show
//! that the tracer's state, not the batch sort, carries correctness.

use super::event::Event;

/// A seeded xorshift64* generator: deterministic, no dependency.
pub struct Chaos {
    state: u64,
}

impl Chaos {
    pub fn new(seed: u64) -> Self {
        Chaos {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Shuffle `batch` and move some of its events to `held`, to be handled
    /// with the next batch: about a quarter of them, and every clone event,
    /// so that the newborn's first stop can overtake its parent's event even
    /// where one CPU makes the kernel report them in order. The first
    /// `carried` events were held once already and are never held again, so
    /// every event is handled within two batches. Returns true when the whole
    /// batch was held: the caller should then let the tracees run a moment
    /// before it collects the next batch.
    pub fn disorder(
        &mut self,
        batch: &mut Vec<Event>,
        carried: usize,
        held: &mut Vec<Event>,
    ) -> bool {
        let mut keep = Vec::with_capacity(batch.len());
        for (i, ev) in batch.drain(..).enumerate() {
            let clone_event = matches!(ev, Event::NewChild { .. });
            if i >= carried && (clone_event || self.below(4) == 0) {
                held.push(ev);
            } else {
                keep.push(ev);
            }
        }
        for i in (1..keep.len()).rev() {
            let j = self.below(i + 1);
            keep.swap(i, j);
        }
        *batch = keep;
        batch.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::Pid;

    fn evs(n: i32) -> Vec<Event> {
        (1..=n)
            .map(|p| Event::Seccomp {
                pid: Pid::from_raw(p),
            })
            .collect()
    }

    #[test]
    fn disorder_keeps_every_event_and_never_holds_one_twice() {
        let mut c = Chaos::new(7);
        let mut batch = evs(40);
        let mut held = Vec::new();
        c.disorder(&mut batch, 0, &mut held);
        assert_eq!(batch.len() + held.len(), 40);
        let carried = held.len();
        let mut next: Vec<Event> = std::mem::take(&mut held);
        c.disorder(&mut next, carried, &mut held);
        assert!(held.is_empty(), "events held once are handled next time");
        let mut all: Vec<i32> = batch
            .iter()
            .chain(&next)
            .map(|e| e.pid().as_raw())
            .collect();
        all.sort();
        assert_eq!(all, (1..=40).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_order() {
        let run = |seed| {
            let mut c = Chaos::new(seed);
            let mut b = evs(20);
            let mut h = Vec::new();
            c.disorder(&mut b, 0, &mut h);
            (b, h)
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn clone_events_are_held_once_then_handled() {
        let mut c = Chaos::new(11);
        let parent = Pid::from_raw(5);
        let mut batch = vec![Event::NewChild { parent }];
        let mut held = Vec::new();
        assert!(
            c.disorder(&mut batch, 0, &mut held),
            "a lone clone event is held"
        );
        assert!(batch.is_empty());
        let newborn = Event::Stop {
            pid: Pid::from_raw(6),
            sig: crate::tracer::event::Sig::STOP,
        };
        let mut next = std::mem::take(&mut held);
        next.push(newborn);
        let carried = 1;
        c.disorder(&mut next, carried, &mut held);
        assert!(
            next.contains(&Event::NewChild { parent }),
            "never held twice"
        );
    }
}
