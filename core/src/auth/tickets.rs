//! One-time tickets that let a websocket prove who opened it: issued by a
//! permission-checked call, valid for one minute (`ticket_ttl_secs`) and
//! one use, for one purpose and one scope (a host, or none; for a
//! terminal, also the container, command and user). The ticket names the
//! caller's identity, not its rights: the socket resolves them afresh when
//! opened. A refused ticket says why: unknown, used already, expired, or
//! for another feed.

use super::Identity;
use crate::model::TerminalTarget;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a ticket stays valid unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Open tickets kept at most; the oldest go first beyond this (and as
/// many used ones are remembered, to tell a second use from a stranger).
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
    /// `/ws/logs`: containers' logs on one host, live.
    Logs,
    /// `/ws/terminal`: a shell in one container.
    Terminal,
    /// `/ws/deploy`: a deploy's output on one host, live.
    Deploy,
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
            Purpose::Logs => crate::model::Operation::ReadLogs,
            Purpose::Terminal => crate::model::Operation::OpenTerminal,
            Purpose::Deploy => crate::model::Operation::ViewStack,
        }
    }
}

/// What a ticket was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketGrant {
    pub identity: Identity,
    pub purpose: Purpose,
    pub host: Option<String>,
    /// For a terminal: the container, what runs and as whom, fixed when
    /// the ticket was issued (the socket cannot ask for another).
    pub target: Option<TerminalTarget>,
}

/// Why a ticket was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketRefusal {
    /// Never issued (or none given, or forgotten long ago).
    Unknown,
    /// It opened a socket already.
    Used,
    /// Older than its lifetime.
    Expired,
    /// Issued for another feed.
    OtherFeed,
}

impl TicketRefusal {
    /// For the record (`details.reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            TicketRefusal::Unknown => "unknown_ticket",
            TicketRefusal::Used => "used_ticket",
            TicketRefusal::Expired => "expired_ticket",
            TicketRefusal::OtherFeed => "ticket_for_another_feed",
        }
    }

    /// In words, with what to do.
    pub fn message(self) -> &'static str {
        match self {
            TicketRefusal::Unknown => "no valid ticket: sign in and open the page again",
            TicketRefusal::Used => {
                "this ticket was used already (each opens one socket): reload the page for a new one"
            }
            TicketRefusal::Expired => "this ticket has expired: reload the page for a new one",
            TicketRefusal::OtherFeed => "this ticket is for another feed: reload the page",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Tickets {
    open: HashMap<String, (TicketGrant, Instant)>,
    /// Tickets redeemed within their lifetime, and when.
    used: HashMap<String, Instant>,
    ttl: Duration,
}

impl Default for Tickets {
    fn default() -> Self {
        Tickets {
            open: HashMap::new(),
            used: HashMap::new(),
            ttl: DEFAULT_TTL,
        }
    }
}

/// Keeps at most `MAX_OPEN` entries, dropping the oldest.
fn bound<V>(map: &mut HashMap<String, V>, at: impl Fn(&V) -> Instant) {
    if map.len() >= MAX_OPEN
        && let Some(oldest) = map.iter().min_by_key(|(_, v)| at(v)).map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
}

impl Tickets {
    pub(crate) fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    pub(crate) fn issue(&mut self, grant: TicketGrant, now: Instant) -> String {
        let ttl = self.ttl;
        // An expired ticket is kept one lifetime more, to say so when shown.
        self.open.retain(|_, (_, at)| now.duration_since(*at) < ttl * 2);
        bound(&mut self.open, |(_, at)| *at);
        let ticket = super::random_token();
        self.open.insert(ticket.clone(), (grant, now));
        ticket
    }

    /// What the ticket was issued for, if it is valid for `purpose`; a
    /// ticket works once.
    pub(crate) fn redeem(
        &mut self,
        ticket: &str,
        purpose: Purpose,
        now: Instant,
    ) -> Result<TicketGrant, TicketRefusal> {
        let ttl = self.ttl;
        self.used.retain(|_, at| now.duration_since(*at) < ttl);
        let Some((grant, at)) = self.open.remove(ticket) else {
            return Err(if self.used.contains_key(ticket) {
                TicketRefusal::Used
            } else {
                TicketRefusal::Unknown
            });
        };
        if now.duration_since(at) >= ttl {
            return Err(TicketRefusal::Expired);
        }
        bound(&mut self.used, |at| *at);
        self.used.insert(ticket.to_string(), now);
        if grant.purpose != purpose {
            return Err(TicketRefusal::OtherFeed);
        }
        Ok(grant)
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
            target: None,
        };
        let a = t.issue(grant(Purpose::Events), now);
        assert_eq!(t.redeem(&a, Purpose::Events, now), Ok(grant(Purpose::Events)));
        assert_eq!(t.redeem(&a, Purpose::Events, now), Err(TicketRefusal::Used));
        let b = t.issue(grant(Purpose::Events), now);
        assert_eq!(t.redeem(&b, Purpose::Stats, now), Err(TicketRefusal::OtherFeed));
        let c = t.issue(grant(Purpose::Events), now);
        assert_eq!(
            t.redeem(&c, Purpose::Events, now + DEFAULT_TTL),
            Err(TicketRefusal::Expired)
        );
        assert_eq!(t.redeem("nonsense", Purpose::Events, now), Err(TicketRefusal::Unknown));
        // A shorter lifetime, as configured.
        t.set_ttl(Duration::from_secs(1));
        let d = t.issue(grant(Purpose::Events), now);
        assert_eq!(
            t.redeem(&d, Purpose::Events, now + Duration::from_secs(1)),
            Err(TicketRefusal::Expired)
        );
    }
}
