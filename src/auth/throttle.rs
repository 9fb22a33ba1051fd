//! Budgets for guessing passwords and for opening accounts, per client
//! address (governor's GCRA limiters, keyed).
//!
//! Login failures are counted per (account, address) and per address. Once
//! a budget is spent, the key is refused until it has earned a new attempt,
//! and refused *before* the password is hashed, so that refusing costs
//! nothing. The account is never locked as such: a correct password from
//! another address still works, so an attacker cannot lock a victim out.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The window the failure budgets are spread over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The window of the registration budget.
pub const REGISTRATION_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Keys blocked for longer than this many entries are pruned as they expire.
const BLOCKED_PRUNE_AT: usize = 4096;

/// A budget of `n` events per `window` (bursts of `n`); `None` when `n` is 0 (off).
fn quota(n: u32, window: Duration) -> Option<Quota> {
    let n = NonZeroU32::new(n)?;
    let every = window / n.get();
    Quota::with_period(every).map(|q| q.allow_burst(n))
}

/// One keyed budget, and the keys that have spent it until when.
struct Budget<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    blocked: Mutex<HashMap<K, Instant>>,
}

impl<K: std::hash::Hash + Eq + Clone> Budget<K> {
    fn new(quota: Quota) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            blocked: Mutex::default(),
        }
    }

    /// How long `key` must still wait, if it spent its budget.
    fn wait(&self, key: &K) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        let until = *blocked.get(key)?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// Counts one event for `key`; past the budget the key is blocked until
    /// it earned one again, and that wait is returned.
    fn spend(&self, key: &K) -> Option<Duration> {
        let clock = DefaultClock::default();
        let wait = self
            .limiter
            .check_key(key)
            .err()?
            .wait_time_from(clock.now());
        let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        if blocked.len() >= BLOCKED_PRUNE_AT {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            self.limiter.retain_recent();
        }
        blocked.insert(key.clone(), Instant::now() + wait);
        Some(wait)
    }
}

/// Refused for now: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failed logins per account and address per `FAILURE_WINDOW`.
    pub failures_per_account: u32,
    /// Failed logins per address per `FAILURE_WINDOW`, whatever the account.
    pub failures_per_address: u32,
    /// Registrations per address per `REGISTRATION_WINDOW`.
    pub registrations_per_address: u32,
}

pub struct Throttle {
    per_account: Option<Budget<(String, IpAddr)>>,
    per_address: Option<Budget<IpAddr>>,
    registrations: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Self {
            per_account: quota(limits.failures_per_account, FAILURE_WINDOW).map(Budget::new),
            per_address: quota(limits.failures_per_address, FAILURE_WINDOW).map(Budget::new),
            registrations: quota(limits.registrations_per_address, REGISTRATION_WINDOW)
                .map(DefaultKeyedRateLimiter::keyed),
        }
    }

    /// Before a login is even checked: refused while `account` from `from`,
    /// or `from` altogether, has spent its failures.
    pub fn login_allowed(&self, account: &str, from: IpAddr) -> Result<(), RetryAfter> {
        let key = (account.to_ascii_lowercase(), from);
        let wait = [
            self.per_account.as_ref().and_then(|b| b.wait(&key)),
            self.per_address.as_ref().and_then(|b| b.wait(&from)),
        ];
        match wait.into_iter().flatten().max() {
            Some(wait) => Err(RetryAfter(wait)),
            None => Ok(()),
        }
    }

    /// A login failed: counted against both budgets.
    pub fn login_failed(&self, account: &str, from: IpAddr) {
        let key = (account.to_ascii_lowercase(), from);
        if let Some(budget) = &self.per_account {
            budget.spend(&key);
        }
        if let Some(budget) = &self.per_address {
            budget.spend(&from);
        }
    }

    /// One registration from `from`, if its budget allows it.
    pub fn register(&self, from: IpAddr) -> Result<(), RetryAfter> {
        let Some(limiter) = &self.registrations else {
            return Ok(());
        };
        limiter.check_key(&from).map_err(|not_until| {
            RetryAfter(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn throttle(per_account: u32, per_address: u32) -> Throttle {
        Throttle::new(Limits {
            failures_per_account: per_account,
            failures_per_address: per_address,
            registrations_per_address: 2,
        })
    }

    #[test]
    fn failures_past_the_budget_block_that_account_from_that_address_only() {
        let t = throttle(3, 100);
        for _ in 0..3 {
            assert!(t.login_allowed("Ann", HOME).is_ok());
            t.login_failed("Ann", HOME);
        }
        t.login_failed("ann", HOME); // the one over the budget
        let RetryAfter(wait) = t.login_allowed("ANN", HOME).expect_err("blocked");
        assert!(wait > Duration::ZERO && wait <= FAILURE_WINDOW, "{wait:?}");
        assert!(
            t.login_allowed("ann", AWAY).is_ok(),
            "another address is not locked out"
        );
        assert!(
            t.login_allowed("bob", HOME).is_ok(),
            "another account is not locked out"
        );
    }

    #[test]
    fn an_address_that_tries_many_accounts_is_blocked_for_all() {
        let t = throttle(100, 4);
        for name in ["a1", "a2", "a3", "a4", "a5"] {
            t.login_failed(name, HOME);
        }
        assert!(t.login_allowed("someone-else", HOME).is_err());
        assert!(t.login_allowed("someone-else", AWAY).is_ok());
    }

    #[test]
    fn zero_turns_a_budget_off() {
        let t = throttle(0, 0);
        for _ in 0..50 {
            t.login_failed("ann", HOME);
        }
        assert!(t.login_allowed("ann", HOME).is_ok());
    }

    #[test]
    fn registrations_are_budgeted_per_address() {
        let t = throttle(5, 50);
        assert!(t.register(HOME).is_ok() && t.register(HOME).is_ok());
        assert!(t.register(HOME).is_err());
        assert!(t.register(AWAY).is_ok());
    }
}
