//! Slows down guessing: after a few failed sign-ins for one account, or from
//! one address, each further attempt must wait, twice as long each time.
//! Kept in memory: a restart forgets it (the event log does not).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed for one account before waits begin.
const FREE_PER_NAME: u32 = 5;
/// Failures allowed from one address (many people may share one).
const FREE_PER_ADDR: u32 = 20;
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
        let over = self.failures.checked_sub(free).filter(|&o| o > 0)?;
        let wait = Duration::from_secs(1u64 << over.min(20)).min(MAX_WAIT);
        let until = self.last + wait;
        (until > now).then(|| until - now)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    by_name: HashMap<String, Counter>,
    by_addr: HashMap<String, Counter>,
}

impl Throttle {
    /// How long the caller must still wait, if at all.
    pub(crate) fn check(&self, name: &str, addr: Option<&str>, now: Instant) -> Option<Duration> {
        let by_name = self.by_name.get(name).and_then(|c| c.wait(FREE_PER_NAME, now));
        let by_addr = addr
            .and_then(|a| self.by_addr.get(a))
            .and_then(|c| c.wait(FREE_PER_ADDR, now));
        by_name.max(by_addr)
    }

    pub(crate) fn failure(&mut self, name: &str, addr: Option<&str>, now: Instant) {
        self.forget_stale(now);
        let bump = |map: &mut HashMap<String, Counter>, key: &str| {
            let c = map.entry(key.to_string()).or_insert(Counter { failures: 0, last: now });
            c.failures += 1;
            c.last = now;
        };
        bump(&mut self.by_name, name);
        if let Some(a) = addr {
            bump(&mut self.by_addr, a);
        }
    }

    pub(crate) fn success(&mut self, name: &str, addr: Option<&str>) {
        self.by_name.remove(name);
        if let Some(a) = addr {
            self.by_addr.remove(a);
        }
    }

    pub(crate) fn failures(&self, name: &str) -> u32 {
        self.by_name.get(name).map_or(0, |c| c.failures)
    }

    fn forget_stale(&mut self, now: Instant) {
        if self.by_name.len() + self.by_addr.len() < 10_000 {
            return;
        }
        self.by_name.retain(|_, c| now - c.last < FORGET_AFTER);
        self.by_addr.retain(|_, c| now - c.last < FORGET_AFTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_attempts_and_reset_on_success() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for _ in 0..FREE_PER_NAME {
            assert_eq!(t.check("alice", Some("10.0.0.1"), now), None);
            t.failure("alice", Some("10.0.0.1"), now);
        }
        assert_eq!(t.check("alice", None, now), None, "the 5th failure still costs nothing");
        t.failure("alice", None, now);
        assert_eq!(t.check("alice", None, now), Some(Duration::from_secs(2)));
        t.failure("alice", None, now);
        assert_eq!(t.check("alice", None, now), Some(Duration::from_secs(4)));
        assert_eq!(t.check("alice", None, now + Duration::from_secs(4)), None);
        assert_eq!(t.check("bob", None, now), None, "other accounts are not slowed");
        t.success("alice", None);
        assert_eq!(t.check("alice", None, now), None);
    }

    #[test]
    fn one_address_trying_many_names_is_slowed() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..=FREE_PER_ADDR {
            t.failure(&format!("user{i}"), Some("10.0.0.9"), now);
        }
        assert!(t.check("fresh", Some("10.0.0.9"), now).is_some());
        assert!(t.check("fresh", Some("10.0.0.8"), now).is_none());
    }
}
