//! Group commit: concurrent syncers share one device sync, with no waiting window for a
//! lone caller.
//!
//! The first caller whose target is not yet durable becomes the leader: it writes out
//! what is buffered, issues one sync covering everything published, advances the durable
//! frontier and wakes the others. Callers that arrive while a leader is syncing wait; when
//! it finishes, those it covered return and one of the rest leads the next round, which
//! covers all of them at once. Under [`crate::SyncPolicy::Grouped`] a leader that saw
//! company last round also waits, up to the group window, for as many followers to join.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) struct GroupCommit {
    durable: AtomicU64,
    round: Mutex<Round>,
    /// Followers wait here for the leader's sync.
    synced: Condvar,
    /// A waiting leader waits here for followers.
    joined: Condvar,
    window: Option<Duration>,
}

#[derive(Debug, Default)]
struct Round {
    leading: bool,
    waiting: usize,
    last_group: usize,
}

impl GroupCommit {
    /// `window` is `Some` under the grouped policy.
    pub(crate) fn new(durable: u64, window: Option<Duration>) -> Self {
        GroupCommit {
            durable: AtomicU64::new(durable),
            round: Mutex::new(Round::default()),
            synced: Condvar::new(),
            joined: Condvar::new(),
            window,
        }
    }

    /// Everything below this offset is durable.
    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Records that everything below `to` is durable (writes that were durable on return).
    pub(crate) fn advance(&self, to: u64) {
        self.durable.fetch_max(to, Ordering::AcqRel);
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        self.round.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once everything below `target` is durable, leading a sync with `lead` when
    /// no one else is. `lead` returns the new durable frontier; on failure it has already
    /// poisoned the journal (`poisoned`), and every waiter then fails too.
    pub(crate) fn sync(&self, target: u64, poisoned: &AtomicBool, lead: &mut dyn FnMut() -> Result<u64>) -> Result<()> {
        if self.durable() >= target {
            return Ok(());
        }
        let mut round = self.lock();
        loop {
            if self.durable() >= target {
                return Ok(());
            }
            if poisoned.load(Ordering::Acquire) {
                return Err(Error::Poisoned);
            }
            if round.leading {
                round.waiting += 1;
                self.joined.notify_one();
                round = self.synced.wait(round).unwrap_or_else(PoisonError::into_inner);
                round.waiting -= 1;
                continue;
            }
            round.leading = true;
            if let Some(window) = self.window {
                let want = round.last_group.saturating_sub(1);
                let deadline = Instant::now() + window;
                while round.waiting < want {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    round = self
                        .joined
                        .wait_timeout(round, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
            let group = round.waiting + 1;
            drop(round);
            let outcome = lead();
            round = self.lock();
            round.leading = false;
            round.last_group = group;
            match outcome {
                Ok(frontier) => {
                    self.advance(frontier);
                    self.synced.notify_all();
                }
                Err(e) => {
                    self.synced.notify_all();
                    return Err(e);
                }
            }
        }
    }
}
