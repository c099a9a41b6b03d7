//! Group commit: a change is acknowledged only once it is on disk, and concurrent changes
//! share flushes instead of paying for one each.
//!
//! Writers commit to sled in sequence (each gets a ticket, its sequence number + 1), then
//! wait here. The first waiter with no flush running becomes the leader: it notes the
//! highest committed ticket, flushes, and marks everything up to that ticket durable. The
//! others sleep until their ticket is durable, or lead the next flush if it is not yet.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Longest a leader waits for writers still in the serialized section before flushing.
pub const MAX_GATHER: Duration = Duration::from_micros(500);

/// Flush coordination for one database.
#[derive(Debug, Default)]
pub struct GroupFlush {
    state: Mutex<State>,
    wake: Condvar,
    gather: Condvar,
}

/// A writer between [`GroupFlush::writer`] and its commit (or failure).
#[derive(Debug)]
pub struct InFlight<'a>(&'a GroupFlush);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.in_flight = st.in_flight.saturating_sub(1);
        if st.in_flight == 0 && st.flushing {
            self.0.gather.notify_one();
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Highest ticket whose writes are in the database (not necessarily on disk).
    committed: u64,
    /// Highest ticket known to be on disk.
    durable: u64,
    /// Whether a leader is flushing now.
    flushing: bool,
    /// Flushes performed (for statistics).
    flushes: u64,
    in_flight: u64,
    /// Bumped by [`GroupFlush::reset`]: tickets and flushes from before a reset say
    /// nothing about what is on disk after it.
    generation: u64,
}

impl GroupFlush {
    /// Announces a writer about to enter the serialized section.
    pub fn writer(&self) -> InFlight<'_> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.in_flight += 1;
        InFlight(self)
    }

    /// Records that the writes of `ticket` (and every lower one) are in the database;
    /// returns the generation to pass to [`wait_durable`](Self::wait_durable).
    pub fn committed(&self, ticket: u64) -> u64 {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.committed = st.committed.max(ticket);
        st.generation
    }

    /// Marks `ticket` durable without flushing (what was recovered from disk at open).
    pub fn recovered(&self, ticket: u64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.committed = st.committed.max(ticket);
        st.durable = st.durable.max(ticket);
    }

    /// Starts over from `ticket` (a ledger reopened after a failed write: what is on disk
    /// is all there is).
    pub fn reset(&self, ticket: u64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.committed = ticket;
        st.durable = ticket;
        st.generation += 1;
        self.wake.notify_all();
    }

    /// How many flushes have run.
    pub fn flushes(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flushes
    }

    /// Returns once `ticket` (committed in `generation`) is on disk, flushing with `flush`
    /// if no one else is. A [`reset`](Self::reset) since the commit means the ticket's
    /// writes may be gone: that is the error `reopened` makes, never a success.
    pub fn wait_durable<E>(
        &self,
        ticket: u64,
        generation: u64,
        flush: impl Fn() -> Result<(), E>,
        reopened: impl Fn() -> E,
    ) -> Result<(), E> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if st.generation != generation {
                return Err(reopened());
            }
            if st.durable >= ticket {
                return Ok(());
            }
            if st.flushing {
                st = self.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            st.flushing = true;
            let deadline = Instant::now() + MAX_GATHER;
            while st.in_flight > 0 {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                st = self
                    .gather
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            let target = st.committed;
            let flushed_in = st.generation;
            drop(st);
            let result = flush();
            st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            st.flushing = false;
            st.flushes += 1;
            // A flush that began before a reset proves nothing about the new state.
            if result.is_ok() && st.generation == flushed_in {
                st.durable = st.durable.max(target);
            }
            self.wake.notify_all();
            result?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn concurrent_writers_share_flushes_and_all_become_durable() {
        let g = Arc::new(GroupFlush::default());
        let next = Arc::new(Mutex::new(0u64));
        let flushed_upto = Arc::new(AtomicU64::new(0));
        let committed = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (g, next, flushed_upto, committed) = (
                    g.clone(),
                    next.clone(),
                    flushed_upto.clone(),
                    committed.clone(),
                );
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let ticket = {
                            let mut n = next.lock().unwrap();
                            *n += 1;
                            committed.store(*n, Ordering::SeqCst);
                            let generation = g.committed(*n);
                            (*n, generation)
                        };
                        let (ticket, generation) = ticket;
                        g.wait_durable(
                            ticket,
                            generation,
                            || {
                                std::thread::sleep(std::time::Duration::from_micros(200));
                                flushed_upto
                                    .fetch_max(committed.load(Ordering::SeqCst), Ordering::SeqCst);
                                Ok::<(), ()>(())
                            },
                            || (),
                        )
                        .unwrap();
                        // Acknowledged only after a flush that started after the commit.
                        assert!(flushed_upto.load(Ordering::SeqCst) >= ticket);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let flushes = g.flushes();
        assert!(
            flushes < 3200,
            "{flushes} flushes for 3200 commits: no sharing"
        );
    }

    #[test]
    fn a_failed_flush_is_reported_and_not_counted_durable() {
        let g = GroupFlush::default();
        let generation = g.committed(1);
        assert_eq!(
            g.wait_durable(1, generation, || Err("disk full"), || "reopened"),
            Err("disk full")
        );
        assert_eq!(
            g.wait_durable(1, generation, || Ok::<(), &str>(()), || "reopened"),
            Ok(())
        );
    }

    #[test]
    fn a_ticket_from_before_a_reset_is_never_acknowledged() {
        let g = GroupFlush::default();
        let old = g.committed(5);
        // The ledger is reopened with 3 events on disk: ticket 5's writes are gone, and
        // new writers take tickets 4 and 5 again.
        g.reset(3);
        let new = g.committed(5);
        assert_ne!(old, new);
        assert_eq!(
            g.wait_durable(5, old, || Ok::<(), &str>(()), || "reopened"),
            Err("reopened")
        );
        // Even with ticket 5 durable again in the new generation.
        assert_eq!(
            g.wait_durable(5, new, || Ok::<(), &str>(()), || "reopened"),
            Ok(())
        );
        assert_eq!(
            g.wait_durable(4, old, || Ok::<(), &str>(()), || "reopened"),
            Err("reopened")
        );
    }

    #[test]
    fn a_flush_that_began_before_a_reset_does_not_count() {
        let g = Arc::new(GroupFlush::default());
        let old = g.committed(9);
        let g2 = g.clone();
        // The flush of the old generation runs while the ledger is reopened at size 2.
        let r = g.wait_durable(
            9,
            old,
            || {
                g2.reset(2);
                Ok::<(), &str>(())
            },
            || "reopened",
        );
        assert_eq!(r, Err("reopened"));
        // A new writer at ticket 3 is not durable until a flush of its own generation.
        let new = g.committed(3);
        let flushed = AtomicU64::new(0);
        g.wait_durable(
            3,
            new,
            || {
                flushed.fetch_add(1, Ordering::SeqCst);
                Ok::<(), &str>(())
            },
            || "reopened",
        )
        .unwrap();
        assert_eq!(flushed.load(Ordering::SeqCst), 1, "it had to flush");
    }
}
