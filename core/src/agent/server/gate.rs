//! Who may hold a connection to the agent before showing the token, and how
//! many: a peer's place is counted against its source (an IPv4 address or
//! an IPv6 /64) and against one of three pools, so that idle connections
//! from some addresses cannot keep a core out:
//! - the sources of cores welcomed since the agent started have a pool of
//!   their own, which strangers never take;
//! - strangers (any other address the allowlist admits) share one;
//! - outsiders (addresses the allowlist does not admit, told so in TLS) a
//!   small one.
//!
//! A source that holds its share, or a pool that is full, does not turn the
//! newcomer away: the oldest connection of the source holding the most
//! places is closed instead. A core finishes its handshake in a few round
//! trips, so a crowd would have to replace a whole pool within them to
//! close it; idle peers just replace each other. A source also makes at
//! most `TLS_AT_ONCE` TLS handshakes at once; its other connections wait.
//! Not here: the handshake, the token or its deadlines (`server`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, oneshot};

/// TLS handshakes one source makes at once; its other connections wait
/// their turn (within the TLS deadline).
const TLS_AT_ONCE: usize = 8;
/// Sources remembered as cores' (each core keeps one connection, and the
/// agent serves at most 16); the one welcomed longest ago is forgotten first.
const KNOWN_CORES: usize = 16;
/// How often a crowded agent says so in its log.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Where a peer's address belongs: an IPv4 address, or the IPv6 /64 it is
/// in (one machine usually has a whole /64 to pick addresses from).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) struct Source(IpAddr);

impl Source {
    pub(super) fn of(ip: IpAddr) -> Source {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                Source(IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
            }
            v4 => Source(v4),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pool {
    Cores,
    Strangers,
    Outsiders,
}

impl Pool {
    /// Places in all, and for one source. The sum over the pools stays well
    /// under the 1024 files a service may usually open.
    const fn places(self) -> (usize, usize) {
        match self {
            Pool::Cores => (256, 64),
            Pool::Strangers => (256, 64),
            Pool::Outsiders => (32, 4),
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The places of peers that have not been welcomed yet.
#[derive(Default)]
pub(super) struct Gate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Every place taken, oldest first.
    held: BTreeMap<u64, Held>,
    sources: HashMap<Source, PerSource>,
    in_pool: [usize; 3],
    /// Sources that cores were welcomed from, the latest last.
    cores: VecDeque<Source>,
    warned: Option<Instant>,
}

struct Held {
    source: Source,
    pool: Pool,
    /// Tells the place's holder that a newer connection took it.
    close: oneshot::Sender<()>,
}

struct PerSource {
    held: usize,
    tls: Arc<Semaphore>,
}

/// A peer's place until it is welcomed or turned away; dropping it frees the place.
pub(super) struct Ticket {
    gate: Arc<Gate>,
    id: u64,
    tls: Arc<Semaphore>,
    replaced: oneshot::Receiver<()>,
}

impl Gate {
    /// A place for a peer at `ip` (`allowed` by the allowlist), made free if
    /// need be by closing the oldest connection of whoever holds the most.
    pub(super) fn admit(self: &Arc<Self>, ip: IpAddr, allowed: bool) -> Ticket {
        let source = Source::of(ip);
        let mut state = self.state();
        let pool = if !allowed {
            Pool::Outsiders
        } else if state.cores.contains(&source) {
            Pool::Cores
        } else {
            Pool::Strangers
        };
        if let Some(id) = state.victim(source, pool)
            && let Some(held) = state.remove(id)
        {
            let _ = held.close.send(());
            let now = Instant::now();
            if state.warned.is_none_or(|at| now.duration_since(at) >= WARN_EVERY) {
                state.warned = Some(now);
                let (total, per_source) = pool.places();
                tracing::warn!(
                    task = "agent",
                    pool = ?pool,
                    %source,
                    total,
                    per_source,
                    "crowded: closing the oldest connections that have not shown the token, to let newer ones in \
                     (said at most once a minute)"
                );
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        let (close, replaced) = oneshot::channel();
        let tls = {
            let entry = state.sources.entry(source).or_insert_with(|| PerSource {
                held: 0,
                tls: Arc::new(Semaphore::new(TLS_AT_ONCE)),
            });
            entry.held += 1;
            entry.tls.clone()
        };
        state.in_pool[pool.index()] += 1;
        state.held.insert(id, Held { source, pool, close });
        Ticket {
            gate: self.clone(),
            id,
            tls,
            replaced,
        }
    }

    /// A core was welcomed from `ip`: its source gets the cores' pool from now on.
    pub(super) fn remember(&self, ip: IpAddr) {
        let source = Source::of(ip);
        let mut state = self.state();
        state.cores.retain(|s| *s != source);
        state.cores.push_back(source);
        if state.cores.len() > KNOWN_CORES {
            state.cores.pop_front();
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// The place to free for a newcomer from `source` to `pool`, if either is full.
    fn victim(&self, source: Source, pool: Pool) -> Option<u64> {
        let (total, per_source) = pool.places();
        let own = self.sources.get(&source).map_or(0, |s| s.held);
        if own >= per_source {
            return self.oldest(|h| h.source == source);
        }
        if self.in_pool[pool.index()] < total {
            return None;
        }
        // The source holding the most places in the pool; of equals, the
        // one holding the oldest (met first).
        let mut counts: HashMap<Source, usize> = HashMap::new();
        let mut most: Option<(Source, usize)> = None;
        for held in self.held.values().filter(|h| h.pool == pool) {
            let n = counts.entry(held.source).or_default();
            *n += 1;
            if most.is_none_or(|(_, m)| *n > m) {
                most = Some((held.source, *n));
            }
        }
        let (crowd, _) = most?;
        self.oldest(|h| h.pool == pool && h.source == crowd)
    }

    fn oldest(&self, matches: impl Fn(&Held) -> bool) -> Option<u64> {
        self.held.iter().find(|(_, h)| matches(h)).map(|(id, _)| *id)
    }

    fn remove(&mut self, id: u64) -> Option<Held> {
        let held = self.held.remove(&id)?;
        self.in_pool[held.pool.index()] -= 1;
        if let Some(s) = self.sources.get_mut(&held.source) {
            s.held -= 1;
            if s.held == 0 {
                self.sources.remove(&held.source);
            }
        }
        Some(held)
    }
}

impl Ticket {
    /// The source's TLS handshakes, `TLS_AT_ONCE` at a time: a turn is
    /// taken from it for each.
    pub(super) fn tls_turns(&self) -> Arc<Semaphore> {
        self.tls.clone()
    }

    /// Runs `work` (the handshake) while the place is held; a newer
    /// connection that takes the place ends it, saying so.
    pub(super) async fn hold<T>(&mut self, work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
        tokio::select! {
            done = work => done,
            Ok(()) = &mut self.replaced => {
                Err("closed to let a newer connection in (too many from this address, or from all)".into())
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.state().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn replaced(t: &mut Ticket) -> bool {
        t.replaced.try_recv().is_ok()
    }

    #[test]
    fn a_source_is_an_ipv4_address_or_an_ipv6_64() {
        assert_eq!(Source::of(ip("10.0.0.1")), Source::of(ip("::ffff:10.0.0.1")));
        assert_ne!(Source::of(ip("10.0.0.1")), Source::of(ip("10.0.0.2")));
        assert_eq!(Source::of(ip("2001:db8::1")), Source::of(ip("2001:db8::ffff:1")));
        assert_ne!(Source::of(ip("2001:db8::1")), Source::of(ip("2001:db8:0:1::1")));
        assert_eq!(Source::of(ip("2001:db8::7")).to_string(), "2001:db8::/64");
    }

    #[tokio::test]
    async fn a_crowd_from_one_address_replaces_only_its_own_connections() {
        let gate = Arc::new(Gate::default());
        let (_, per_source) = Pool::Strangers.places();
        let mut crowd: Vec<Ticket> = (0..per_source).map(|_| gate.admit(ip("10.0.0.9"), true)).collect();
        let mut core = gate.admit(ip("10.0.0.1"), true);
        let newer = gate.admit(ip("10.0.0.9"), true);
        assert!(replaced(&mut crowd[0]), "the crowd's oldest made room for its newest");
        assert!(!replaced(&mut core));
        assert!(crowd.iter_mut().skip(1).all(|t| !replaced(t)));
        // Only TLS_AT_ONCE handshakes of one source at a time.
        let turns = newer.tls_turns();
        let taken: Vec<_> = (0..TLS_AT_ONCE).map(|_| turns.try_acquire().unwrap()).collect();
        assert!(turns.try_acquire().is_err());
        assert!(
            core.tls_turns().try_acquire().is_ok(),
            "another source has turns of its own"
        );
        drop(taken);
        drop((crowd, newer, core));
        assert!(gate.state().held.is_empty() && gate.state().sources.is_empty());
        assert_eq!(gate.state().in_pool, [0; 3]);
    }

    #[tokio::test]
    async fn a_full_pool_closes_the_oldest_of_whoever_holds_the_most_and_never_a_known_cores() {
        let gate = Arc::new(Gate::default());
        gate.remember(ip("10.0.0.1"));
        let (total, _) = Pool::Strangers.places();
        // A hundred addresses fill the strangers' pool: 3 places for the
        // first 56 of them, 2 for the others.
        let mut crowd: Vec<Ticket> = (0..total)
            .map(|i| gate.admit(ip(&format!("10.1.0.{}", i % 100)), true))
            .collect();
        // A core welcomed before has its own pool: it takes no stranger's place.
        let mut core = gate.admit(ip("10.0.0.1"), true);
        assert!(crowd.iter_mut().all(|t| !replaced(t)));
        // A stranger new to the agent replaces the oldest place of the first
        // address holding the most.
        let mut newcomer = gate.admit(ip("10.9.9.9"), true);
        let gone: Vec<usize> = (0..total).filter(|i| replaced(&mut crowd[*i])).collect();
        assert_eq!(gone, [0]);
        // More strangers never replace the newcomer before the crowd's own.
        let more: Vec<Ticket> = (0..40).map(|i| gate.admit(ip(&format!("10.2.0.{i}")), true)).collect();
        assert!(!replaced(&mut newcomer) && !replaced(&mut core));
        // Addresses outside the allowlist take only outsiders' places.
        let (outsiders, _) = Pool::Outsiders.places();
        let _out: Vec<Ticket> = (0..outsiders * 2)
            .map(|i| gate.admit(ip(&format!("192.0.2.{i}")), false))
            .collect();
        assert!(!replaced(&mut newcomer) && !replaced(&mut core));
        assert_eq!(gate.state().in_pool[Pool::Outsiders.index()], outsiders);
        drop(more);
    }
}
