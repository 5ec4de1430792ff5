//! Slows down guessing without handing attackers a way to lock people out.
//!
//! - Per account *and* address: after a few failures, each further attempt
//!   from that address for that account must wait, twice as long each time.
//! - Per address: one address trying many accounts is slowed the same way.
//! - Per account, from anywhere: only a short delay once many failures pile
//!   up, never a refusal, so the owner signing in from their own address is
//!   not locked out by someone guessing elsewhere.
//!
//! An attempt counts as a failure from the moment it is let through (before
//! its password is checked), so parallel guesses cannot all slip past the
//! check before the first failure is counted. Kept in memory: a restart
//! forgets it (the event log does not).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed for one account from one address before waits begin.
pub(crate) const FREE_PER_PAIR: u32 = 5;
/// Failures allowed from one address (many people may share one).
const FREE_PER_ADDR: u32 = 20;
/// Failures of one account, from anywhere, after which each attempt is slowed.
const SLOW_AFTER_PER_NAME: u32 = 10;
/// The delay each attempt then takes.
pub(crate) const ACCOUNT_DELAY: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A counter with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Debug)]
struct Counter {
    failures: u32,
    last: Instant,
}

impl Counter {
    fn wait(&self, free: u32, now: Instant) -> Option<Duration> {
        let over = (self.failures + 1).checked_sub(free).filter(|&o| o > 0)?;
        let wait = Duration::from_secs(1u64 << over.min(20)).min(MAX_WAIT);
        let until = self.last + wait;
        (until > now).then(|| until - now)
    }
}

/// What the throttle says about an attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Check the password now (after `delay`); the attempt already counts
    /// as a failure until `success` clears it.
    Go { delay: Option<Duration> },
    /// Refuse without checking: try again after this long.
    Wait(Duration),
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    by_pair: HashMap<(String, String), Counter>,
    by_name: HashMap<String, Counter>,
    by_addr: HashMap<String, Counter>,
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Counter>, key: K, now: Instant) {
    let c = map.entry(key).or_insert(Counter { failures: 0, last: now });
    c.failures += 1;
    c.last = now;
}

impl Throttle {
    /// Decides on an attempt and, when it may go ahead, counts it as a
    /// failure at once (in the same lock as the decision).
    pub(crate) fn attempt(&mut self, name: &str, addr: Option<&str>, now: Instant) -> Verdict {
        let addr = addr.unwrap_or("");
        let pair = (name.to_string(), addr.to_string());
        let by_pair = self.by_pair.get(&pair).and_then(|c| c.wait(FREE_PER_PAIR, now));
        let by_addr = self.by_addr.get(addr).and_then(|c| c.wait(FREE_PER_ADDR, now));
        if let Some(wait) = by_pair.max(by_addr) {
            return Verdict::Wait(wait);
        }
        let slow = self
            .by_name
            .get(name)
            .is_some_and(|c| c.failures >= SLOW_AFTER_PER_NAME);
        self.forget_stale(now);
        bump(&mut self.by_pair, pair, now);
        bump(&mut self.by_name, name.to_string(), now);
        bump(&mut self.by_addr, addr.to_string(), now);
        Verdict::Go {
            delay: slow.then_some(ACCOUNT_DELAY),
        }
    }

    /// The password was right: this account's slate is clean again.
    pub(crate) fn success(&mut self, name: &str, addr: Option<&str>) {
        let addr = addr.unwrap_or("");
        self.by_pair.retain(|(n, _), _| n != name);
        self.by_name.remove(name);
        if let Some(c) = self.by_addr.get_mut(addr) {
            c.failures = c.failures.saturating_sub(1);
        }
    }

    /// Failures counted for this account, from anywhere.
    pub(crate) fn failures(&self, name: &str) -> u32 {
        self.by_name.get(name).map_or(0, |c| c.failures)
    }

    fn forget_stale(&mut self, now: Instant) {
        if self.by_pair.len() + self.by_name.len() + self.by_addr.len() < 10_000 {
            return;
        }
        self.by_pair.retain(|_, c| now - c.last < FORGET_AFTER);
        self.by_name.retain(|_, c| now - c.last < FORGET_AFTER);
        self.by_addr.retain(|_, c| now - c.last < FORGET_AFTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: Verdict) -> bool {
        matches!(v, Verdict::Go { .. })
    }

    #[test]
    fn waits_begin_after_the_free_attempts_and_grow() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for _ in 0..FREE_PER_PAIR {
            assert!(go(t.attempt("alice", Some("10.0.0.1"), now)));
        }
        assert_eq!(
            t.attempt("alice", Some("10.0.0.1"), now),
            Verdict::Wait(Duration::from_secs(2))
        );
        let later = now + Duration::from_secs(2);
        assert!(go(t.attempt("alice", Some("10.0.0.1"), later)));
        assert_eq!(
            t.attempt("alice", Some("10.0.0.1"), later),
            Verdict::Wait(Duration::from_secs(4))
        );
        assert!(
            go(t.attempt("bob", Some("10.0.0.1"), later)),
            "other accounts are not slowed"
        );
    }

    #[test]
    fn a_burst_lets_only_the_free_attempts_through() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let through = (0..50)
            .filter(|_| go(t.attempt("alice", Some("10.0.0.1"), now)))
            .count();
        assert_eq!(through, FREE_PER_PAIR as usize);
    }

    #[test]
    fn the_owner_elsewhere_is_only_slowed_never_refused() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..40 {
            t.attempt("alice", Some(&format!("10.0.0.{i}")), now);
        }
        match t.attempt("alice", Some("192.0.2.7"), now) {
            Verdict::Go { delay } => assert_eq!(delay, Some(ACCOUNT_DELAY)),
            Verdict::Wait(w) => panic!("the owner was locked out for {w:?}"),
        }
        t.success("alice", Some("192.0.2.7"));
        assert_eq!(t.attempt("alice", Some("192.0.2.7"), now), Verdict::Go { delay: None });
    }

    #[test]
    fn one_address_trying_many_names_is_slowed() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..FREE_PER_ADDR {
            assert!(go(t.attempt(&format!("user{i}"), Some("10.0.0.9"), now)));
        }
        assert!(!go(t.attempt("fresh", Some("10.0.0.9"), now)));
        assert!(go(t.attempt("fresh", Some("10.0.0.8"), now)));
    }
}
