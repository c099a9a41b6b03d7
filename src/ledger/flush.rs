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
}

impl GroupFlush {
    /// Announces a writer about to enter the serialized section.
    pub fn writer(&self) -> InFlight<'_> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.in_flight += 1;
        InFlight(self)
    }

    /// Records that the writes of `ticket` (and every lower one) are in the database.
    pub fn committed(&self, ticket: u64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.committed = st.committed.max(ticket);
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
    }

    /// How many flushes have run.
    pub fn flushes(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flushes
    }

    /// Returns once `ticket` is on disk, flushing with `flush` if no one else is.
    pub fn wait_durable<E>(&self, ticket: u64, flush: impl Fn() -> Result<(), E>) -> Result<(), E> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
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
            drop(st);
            let result = flush();
            st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            st.flushing = false;
            st.flushes += 1;
            if result.is_ok() {
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
                            g.committed(*n);
                            *n
                        };
                        g.wait_durable(ticket, || {
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            flushed_upto
                                .fetch_max(committed.load(Ordering::SeqCst), Ordering::SeqCst);
                            Ok::<(), ()>(())
                        })
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
        g.committed(1);
        assert_eq!(g.wait_durable(1, || Err("disk full")), Err("disk full"));
        assert_eq!(g.wait_durable(1, || Ok::<(), &str>(())), Ok(()));
    }
}
