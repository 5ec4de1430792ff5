//! One-time tickets that let a websocket prove who opened it: issued by a
//! permission-checked call, valid for one minute and one use, for one
//! purpose and one scope (a host, or none). The ticket names the caller's
//! identity, not its rights: the socket resolves them afresh when opened.

use super::Identity;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(60);
/// Open tickets kept at most; the oldest go first beyond this.
const MAX_OPEN: usize = 10_000;

/// Which live feed a ticket opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `/ws/events`: the event log, live.
    Events,
    /// `/ws/containers`: one host's containers, live.
    Containers,
    /// `/ws/containers?hosts=all`: the containers of every host the caller
    /// may see, live.
    AllContainers,
    /// `/ws/stats`: the dashboard, live.
    Stats,
}

impl Purpose {
    /// What the caller must be allowed, checked when the ticket is issued
    /// and again whenever their rights change while the socket is open.
    pub fn operation(self) -> crate::model::Operation {
        match self {
            Purpose::Events => crate::model::Operation::ReadEvents,
            Purpose::Containers => crate::model::Operation::ViewHost,
            // Seeing any host is enough: the feed carries only those they see.
            Purpose::AllContainers => crate::model::Operation::ViewDashboard,
            Purpose::Stats => crate::model::Operation::ViewDashboard,
        }
    }
}

/// What a ticket was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketGrant {
    pub identity: Identity,
    pub purpose: Purpose,
    pub host: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Tickets {
    open: HashMap<String, (TicketGrant, Instant)>,
}

impl Tickets {
    pub(crate) fn issue(&mut self, grant: TicketGrant, now: Instant) -> String {
        self.open.retain(|_, (_, at)| now.duration_since(*at) < TTL);
        if self.open.len() >= MAX_OPEN
            && let Some(oldest) = self.open.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone())
        {
            self.open.remove(&oldest);
        }
        let ticket = super::random_token();
        self.open.insert(ticket.clone(), (grant, now));
        ticket
    }

    /// What the ticket was issued for, if it is valid for `purpose`; a
    /// ticket works once.
    pub(crate) fn redeem(&mut self, ticket: &str, purpose: Purpose, now: Instant) -> Option<TicketGrant> {
        let (grant, at) = self.open.remove(ticket)?;
        (grant.purpose == purpose && now.duration_since(at) < TTL).then_some(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;

    #[test]
    fn a_ticket_works_once_for_its_purpose_within_its_lifetime() {
        let mut t = Tickets::default();
        let now = Instant::now();
        let grant = |purpose| TicketGrant {
            identity: Identity {
                user: UserId(1),
                key: None,
            },
            purpose,
            host: Some("local".into()),
        };
        let a = t.issue(grant(Purpose::Events), now);
        assert_eq!(t.redeem(&a, Purpose::Events, now), Some(grant(Purpose::Events)));
        assert_eq!(t.redeem(&a, Purpose::Events, now), None);
        let b = t.issue(grant(Purpose::Events), now);
        assert_eq!(t.redeem(&b, Purpose::Stats, now), None);
        let c = t.issue(grant(Purpose::Events), now);
        assert_eq!(t.redeem(&c, Purpose::Events, now + TTL), None);
    }
}
