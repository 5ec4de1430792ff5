//! Which deliveries are due: the outbox held in memory, with those under
//! way marked. Deliveries about the same alert on the same channel go out
//! one at a time in the order they were queued; a channel has at most
//! `PER_CHANNEL` under way, so one slow receiver cannot take every slot.

use super::outbox::{DeliveryId, Pending};
use crate::model::ChannelId;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The most attempts under way at once, and for one channel.
pub(super) const PARALLEL: usize = 8;
pub(super) const PER_CHANNEL: usize = 2;
/// The most deliveries waiting; past it new ones are refused (recorded).
pub(super) const MAX_WAITING: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct Queue {
    pub entries: BTreeMap<DeliveryId, Pending>,
    busy: HashSet<DeliveryId>,
    pub next_id: DeliveryId,
}

impl Queue {
    pub fn new(entries: BTreeMap<DeliveryId, Pending>, next_id: DeliveryId) -> Queue {
        Queue {
            entries,
            busy: HashSet::new(),
            next_id,
        }
    }

    #[cfg(test)]
    pub fn busy(&self) -> usize {
        self.busy.len()
    }

    /// The deliveries to start now (marked under way), at most `slots`.
    pub fn take_due(&mut self, now_ms: i64, slots: usize) -> Vec<(DeliveryId, Pending)> {
        let mut per_channel: HashMap<ChannelId, usize> = HashMap::new();
        for id in &self.busy {
            if let Some(p) = self.entries.get(id) {
                *per_channel.entry(p.channel).or_default() += 1;
            }
        }
        let mut due = Vec::new();
        for (id, p) in self.heads() {
            if due.len() >= slots {
                break;
            }
            let on_channel = per_channel.entry(p.channel).or_default();
            if self.busy.contains(&id) || p.next_ms > now_ms || *on_channel >= PER_CHANNEL {
                continue;
            }
            *on_channel += 1;
            due.push((id, p.clone()));
        }
        for (id, _) in &due {
            self.busy.insert(*id);
        }
        due
    }

    /// When the next delivery not under way comes due, if one waits.
    pub fn next_due(&self) -> Option<i64> {
        self.heads()
            .filter(|(id, _)| !self.busy.contains(id))
            .map(|(_, p)| p.next_ms)
            .min()
    }

    /// The oldest delivery of each alert and channel (later ones wait).
    fn heads(&self) -> impl Iterator<Item = (DeliveryId, &Pending)> {
        let mut seen = HashSet::new();
        self.entries
            .iter()
            .filter(move |(_, p)| seen.insert(p.order_key()))
            .map(|(id, p)| (*id, p))
    }

    /// An attempt ended: `id` is no longer under way.
    pub fn done(&mut self, id: DeliveryId) {
        self.busy.remove(&id);
    }

    /// Nothing is under way any more (the attempts were stopped).
    pub fn clear_busy(&mut self) {
        self.busy.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::deliver::text::tests::sample;
    use crate::model::AlertState;

    fn pending(channel: u64, subject: &str, next_ms: i64) -> Pending {
        let mut n = sample();
        n.subject = subject.into();
        Pending {
            notification: n,
            channel: ChannelId(channel),
            attempts: 0,
            queued_ms: 0,
            next_ms,
        }
    }

    fn queue(list: Vec<Pending>) -> Queue {
        let entries: BTreeMap<_, _> = list.into_iter().enumerate().map(|(i, p)| (i as u64 + 1, p)).collect();
        let next = entries.len() as u64 + 1;
        Queue::new(entries, next)
    }

    fn ids(due: &[(DeliveryId, Pending)]) -> Vec<DeliveryId> {
        due.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn one_alert_on_one_channel_goes_out_in_order() {
        let mut firing = pending(1, "web", 0);
        firing.next_ms = 500; // waiting for a retry
        let mut resolved = pending(1, "web", 0);
        resolved.notification.state = AlertState::Resolved;
        let mut q = queue(vec![firing, resolved, pending(2, "web", 0), pending(1, "db", 0)]);
        assert_eq!(ids(&q.take_due(100, 8)), [3, 4], "the resolve waits behind the firing");
        assert_eq!(q.next_due(), Some(500));
        assert_eq!(ids(&q.take_due(500, 8)), [1]);
        q.entries.remove(&1);
        q.done(1);
        assert_eq!(ids(&q.take_due(500, 8)), [2]);
    }

    #[test]
    fn slots_are_shared_and_a_channel_takes_at_most_its_share() {
        let mut list: Vec<Pending> = (0..10).map(|i| pending(1, &format!("c{i}"), 0)).collect();
        list.extend((0..10).map(|i| pending(2, &format!("c{i}"), 0)));
        list.extend((0..10).map(|i| pending(3 + i, "x", 0)));
        let mut q = queue(list);
        let first = q.take_due(0, PARALLEL);
        let channels: Vec<u64> = first.iter().map(|(_, p)| p.channel.0).collect();
        assert_eq!(channels, [1, 1, 2, 2, 3, 4, 5, 6]);
        assert!(
            q.take_due(0, 8).iter().all(|(_, p)| p.channel.0 > 6),
            "1 and 2 are at their share"
        );
        assert_eq!(q.busy(), 8 + 6);
        q.clear_busy();
        assert_eq!(q.busy(), 0);
    }
}
