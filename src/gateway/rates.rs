//! What one user may make the server do per second, whatever the number of
//! connections or the protocol: one budget for sends and typing notices
//! (`--rate-limit`), and one for the stored messages replayed to them
//! (`subscribe` with `since` and history pages, `--replay-rate`). Counted
//! per node: behind a load balancer a user may spend the budget on each.
//!
//! Sends over the budget are refused (v1 `rate_limited` with a retry hint;
//! the chapter's protocol drops them and, past repeated overruns, closes).
//! Replays are not refused but paced: the writer waits for the budget
//! before each page, so that asking for history a hundred times at once
//! makes the server write no faster than the budget.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

/// Messages one replay page holds at most; the replay budget's burst is at
/// least this, so that a page can always be paid for.
pub const REPLAY_PAGE: u32 = 1000;

const TWO: NonZeroU32 = match NonZeroU32::new(2) {
    Some(n) => n,
    None => panic!("2 is not zero"),
};
const FIVE: NonZeroU32 = match NonZeroU32::new(5) {
    Some(n) => n,
    None => panic!("5 is not zero"),
};
const PAGE: NonZeroU32 = match NonZeroU32::new(REPLAY_PAGE) {
    Some(n) => n,
    None => panic!("a page is not empty"),
};

pub struct UserRates {
    sends: Option<DefaultKeyedRateLimiter<i64>>,
    replays: Option<DefaultKeyedRateLimiter<i64>>,
}

impl UserRates {
    /// `sends_per_second`: bursts of twice that. `replayed_per_second`:
    /// stored messages written per second, bursts of five seconds' worth
    /// (and never less than a page). 0 turns either off.
    pub fn new(sends_per_second: u32, replayed_per_second: u32) -> Self {
        let sends = NonZeroU32::new(sends_per_second).map(|rate| {
            DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate).allow_burst(rate.saturating_mul(TWO)),
            )
        });
        let replays = NonZeroU32::new(replayed_per_second).map(|rate| {
            let burst = rate.saturating_mul(FIVE).max(PAGE);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self { sends, replays }
    }

    /// One send or typing notice by `user`; how long to wait when over.
    pub fn send(&self, user: i64) -> Result<(), Duration> {
        let Some(limiter) = &self.sends else {
            return Ok(());
        };
        limiter
            .check_key(&user)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Waits until `user` may be written `messages` more replayed messages,
    /// and takes them from the budget.
    pub async fn replay(&self, user: i64, messages: u32) {
        let (Some(limiter), Some(n)) = (&self.replays, NonZeroU32::new(messages)) else {
            return;
        };
        loop {
            match limiter.check_key_n(&user, n) {
                Ok(Ok(())) => return,
                Ok(Err(not_until)) => {
                    tokio::time::sleep(not_until.wait_time_from(DefaultClock::default().now()))
                        .await;
                }
                // More than the burst can ever hold (pages are at most
                // REPLAY_PAGE, which the burst holds): pay a page's worth.
                Err(_) => {
                    return Box::pin(self.replay(user, REPLAY_PAGE)).await;
                }
            }
        }
    }

    /// Whether `user` may be given `messages` replayed messages now (HTTP
    /// history pages: refused, not paced, since a request cannot wait long).
    pub fn history(&self, user: i64, messages: u32) -> Result<(), Duration> {
        let (Some(limiter), Some(n)) = (&self.replays, NonZeroU32::new(messages)) else {
            return Ok(());
        };
        match limiter.check_key_n(&user, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            Err(_) => Err(Duration::from_secs(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_budget_per_user_whatever_the_connection() {
        let rates = UserRates::new(2, 0);
        // Bursts of twice the rate, shared by every connection of user 1.
        assert!(rates.send(1).is_ok() && rates.send(1).is_ok());
        assert!(rates.send(1).is_ok() && rates.send(1).is_ok());
        let wait = rates.send(1).expect_err("over");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(rates.send(2).is_ok(), "another user has its own");
    }

    #[tokio::test]
    async fn replays_are_paced_not_refused() {
        let rates = UserRates::new(0, 1000);
        rates.replay(7, 5000).await; // the burst
        assert!(rates.history(7, 100).is_err(), "the budget is spent");
        // Past the burst a replay waits for the budget instead of failing.
        rates.replay(7, 10).await;
        assert!(rates.history(8, 100).is_ok());
        assert!(rates.send(7).is_ok(), "sends are not limited here (0)");
    }
}
