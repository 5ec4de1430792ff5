//! One-time tickets that let a websocket prove who opened it: issued by a
//! permission-checked call, valid for one minute and one use.

use crate::model::UserId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(crate) struct Tickets {
    open: HashMap<String, (UserId, String, Instant)>,
}

impl Tickets {
    pub(crate) fn issue(&mut self, user: UserId, purpose: &str, now: Instant) -> String {
        self.open.retain(|_, (_, _, at)| now.duration_since(*at) < TTL);
        let ticket = super::random_token();
        self.open.insert(ticket.clone(), (user, purpose.to_string(), now));
        ticket
    }

    /// The ticket's user, if it is valid for `purpose`; a ticket works once.
    pub(crate) fn redeem(&mut self, ticket: &str, purpose: &str, now: Instant) -> Option<UserId> {
        let (user, p, at) = self.open.remove(ticket)?;
        (p == purpose && now.duration_since(at) < TTL).then_some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once_for_its_purpose_within_its_lifetime() {
        let mut t = Tickets::default();
        let now = Instant::now();
        let a = t.issue(UserId(1), "events", now);
        assert_eq!(t.redeem(&a, "events", now), Some(UserId(1)));
        assert_eq!(t.redeem(&a, "events", now), None);
        let b = t.issue(UserId(1), "events", now);
        assert_eq!(t.redeem(&b, "terminal", now), None);
        let c = t.issue(UserId(1), "events", now);
        assert_eq!(t.redeem(&c, "events", now + TTL), None);
    }
}
