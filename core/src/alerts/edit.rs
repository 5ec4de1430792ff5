//! Reading and changing rules and channels for a caller: one access
//! decision each (rules: manage on their host, all hosts: admins;
//! channels: admins), what a person sent checked with a clear error, and
//! every change, refused or failed, recorded with what was asked (a
//! channel's secrets never: its details are masked).

use super::{AlertError, Alerts};
use crate::access::{self, Caller, Scope};
use crate::model::{
    Alert, AlertList, AlertRule, AlertScope, Channel, ChannelId, ChannelSpec, Condition, DeliveryReport, MAX_CHANNELS,
    MAX_RULES, NewEvent, Notification, Operation, Outcome, RuleId, RuleSpec, Severity,
};
use crate::store::tables::{ALERT_RULES, META};
use crate::store::{Store, StoreError};
use redb::ReadableTable;

/// The rules berth ships with, added once to a new database (and then
/// changed or deleted like any other).
fn default_rules() -> Vec<RuleSpec> {
    let rule = |name: &str, condition, severity, for_secs| RuleSpec {
        name: name.into(),
        enabled: true,
        condition,
        scope: AlertScope::default(),
        severity,
        for_secs,
        repeat_secs: 0,
        channels: vec![],
        silences: vec![],
    };
    vec![
        rule(
            "Disk over 90%",
            Condition::Disk {
                above: 90.0,
                recover_below: 85.0,
                mount: None,
            },
            Severity::Warning,
            300,
        ),
        rule("Container down", Condition::ContainerDown, Severity::Critical, 0),
        rule("Container unhealthy", Condition::Unhealthy, Severity::Warning, 60),
        rule("Host unreachable", Condition::HostUnreachable, Severity::Critical, 0),
    ]
}

const SEEDED: &str = "alert_rules_seeded";

/// Adds the default rules to a database that never had them. Blocking.
pub(super) fn seed_default_rules(store: &Store) -> Result<(), StoreError> {
    let tx = store.db().begin_write()?;
    {
        let mut meta = tx.open_table(META)?;
        if meta.get(SEEDED)?.is_some() {
            return Ok(());
        }
        let mut rules = tx.open_table(ALERT_RULES)?;
        let mut next = rules.last()?.map_or(1, |(k, _)| k.value() + 1);
        for spec in default_rules() {
            let rule = AlertRule { id: RuleId(next), spec };
            let json = serde_json::to_vec(&rule).expect("a rule serialises");
            rules.insert(next, json.as_slice())?;
            next += 1;
        }
        meta.insert(SEEDED, "1")?;
        meta.insert(super::RULES_NEXT, next.to_string().as_str())?;
    }
    tx.commit()?;
    Ok(())
}

/// The scope an operation on a rule is decided in: its host, or (all hosts) none.
fn scope_of(spec: &RuleSpec) -> Scope {
    let scope = match &spec.scope.host {
        Some(h) => Scope::host(h.0.chars().take(100).collect::<String>()),
        None => Scope::none(),
    };
    scope.target(format!(
        "alert_rule:{}",
        spec.name.chars().take(100).collect::<String>()
    ))
}

impl Alerts {
    /// The alerts firing and pending now, on the hosts `caller` may see.
    pub async fn alerts_for(&self, caller: &Caller) -> Result<AlertList, AlertError> {
        access::check(&self.inner.events, caller, Operation::ViewAlerts, Scope::none()).await?;
        Ok(AlertList {
            alerts: self.visible_to(caller),
        })
    }

    /// The alerts on the hosts `caller` may see (for a caller let in already).
    pub fn visible_to(&self, caller: &Caller) -> Vec<Alert> {
        let p = caller.permissions();
        self.live()
            .iter()
            .filter(|a| a.host.as_ref().is_none_or(|h| p.sees(&h.0)))
            .cloned()
            .collect()
    }

    /// The rules about hosts `caller` may see (rules about all hosts too).
    pub async fn rules_for(&self, caller: &Caller) -> Result<Vec<AlertRule>, AlertError> {
        access::check(&self.inner.events, caller, Operation::ViewAlerts, Scope::none()).await?;
        let p = caller.permissions();
        Ok(self
            .inner
            .rules
            .all()
            .values()
            .filter(|r| r.spec.scope.host.as_ref().is_none_or(|h| p.sees(&h.0)))
            .cloned()
            .collect())
    }

    /// Every channel, masked (rule editors pick them by name).
    pub async fn channels_for(&self, caller: &Caller) -> Result<Vec<Channel>, AlertError> {
        access::check(&self.inner.events, caller, Operation::ViewAlerts, Scope::none()).await?;
        Ok(self.inner.channels.all().values().map(Channel::masked).collect())
    }

    /// Checks a rule beyond its own fields: its channels exist, its regex compiles.
    fn check_rule(&self, spec: &RuleSpec) -> Result<(), AlertError> {
        spec.validate().map_err(AlertError::Invalid)?;
        for c in &spec.channels {
            if self.inner.channels.get(c.0).is_none() {
                return Err(AlertError::Invalid(format!("there is no channel {c}")));
            }
        }
        if let Condition::LogPattern {
            pattern,
            regex: true,
            case_sensitive,
            ..
        } = &spec.condition
        {
            super::logwatch::matcher(pattern, true, *case_sensitive).map_err(AlertError::Invalid)?;
        }
        Ok(())
    }

    /// Records `event` with `result`'s outcome, then hands the result back.
    async fn recorded<T>(&self, event: NewEvent, result: Result<T, AlertError>) -> Result<T, AlertError> {
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Error(e.to_string()),
        };
        self.inner.events.append(event.outcome(outcome)).await?;
        result
    }

    pub async fn create_rule(&self, caller: &Caller, spec: RuleSpec) -> Result<AlertRule, AlertError> {
        let op = Operation::CreateAlertRule;
        let scope = scope_of(&spec);
        let event = rule_event(caller, op, &scope, None, &spec);
        access::check(&self.inner.events, caller, op, scope).await?;
        let result = async {
            self.check_rule(&spec)?;
            if self.inner.rules.len() >= crate::model::MAX_RULES {
                return Err(AlertError::Invalid(format!("berth keeps at most {MAX_RULES} rules")));
            }
            let spec = RuleSpec {
                name: spec.name.trim().to_string(),
                ..spec
            };
            Ok(self
                .inner
                .rules
                .insert(&self.inner.store, |id| AlertRule { id: RuleId(id), spec })
                .await?)
        }
        .await;
        let event = match &result {
            Ok(r) => event.details(rule_details(Some(r.id), &r.spec)),
            Err(_) => event,
        };
        let rule = self.recorded(event, result).await?;
        self.inner.changed.notify_one();
        Ok(rule)
    }

    /// Replaces rule `id` with `spec`; the caller needs the right on both
    /// the old scope and the new.
    pub async fn update_rule(&self, caller: &Caller, id: RuleId, spec: RuleSpec) -> Result<AlertRule, AlertError> {
        let op = Operation::UpdateAlertRule;
        access::check(&self.inner.events, caller, op, scope_of(&spec)).await?;
        let old = self.rule(id)?;
        if old.spec.scope.host != spec.scope.host {
            access::check(&self.inner.events, caller, op, scope_of(&old.spec)).await?;
        }
        let event = rule_event(caller, op, &scope_of(&spec), Some(id), &spec);
        let result = async {
            self.check_rule(&spec)?;
            let spec = RuleSpec {
                name: spec.name.trim().to_string(),
                ..spec
            };
            match self
                .inner
                .rules
                .update(&self.inner.store, id.0, |_| AlertRule { id, spec })
                .await?
            {
                Some((_, new)) => Ok(new),
                None => Err(AlertError::NotFound(format!("there is no alert rule {id}"))),
            }
        }
        .await;
        let rule = self.recorded(event, result).await?;
        self.inner.changed.notify_one();
        Ok(rule)
    }

    pub async fn delete_rule(&self, caller: &Caller, id: RuleId) -> Result<(), AlertError> {
        let op = Operation::DeleteAlertRule;
        let old = self.rule(id)?;
        let scope = scope_of(&old.spec);
        let event = rule_event(caller, op, &scope, Some(id), &old.spec);
        access::check(&self.inner.events, caller, op, scope).await?;
        let result = match self.inner.rules.remove(&self.inner.store, id.0).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(AlertError::NotFound(format!("there is no alert rule {id}"))),
            Err(e) => Err(e.into()),
        };
        self.recorded(event, result).await?;
        self.inner.changed.notify_one();
        Ok(())
    }

    /// Checks a channel beyond its own fields: it calls nothing of berth's.
    async fn check_channel(&self, spec: &ChannelSpec) -> Result<(), AlertError> {
        spec.validate().map_err(AlertError::Invalid)?;
        match super::deliver::loop_in(&spec.target, &self.inner.settings.own).await {
            Some(at) => Err(AlertError::Invalid(format!(
                "a channel may not point at berth itself ({at} is where berth listens); give the receiver's own address"
            ))),
            None => Ok(()),
        }
    }

    pub async fn create_channel(&self, caller: &Caller, spec: ChannelSpec) -> Result<Channel, AlertError> {
        let op = Operation::CreateChannel;
        let event = channel_event(caller, op, None, &spec);
        access::check(&self.inner.events, caller, op, Scope::none()).await?;
        let result = async {
            self.check_channel(&spec).await?;
            if self.inner.channels.len() >= MAX_CHANNELS {
                return Err(AlertError::Invalid(format!(
                    "berth keeps at most {MAX_CHANNELS} channels"
                )));
            }
            let spec = ChannelSpec {
                name: spec.name.trim().to_string(),
                ..spec
            };
            Ok(self
                .inner
                .channels
                .insert(&self.inner.store, |id| Channel {
                    id: ChannelId(id),
                    spec,
                })
                .await?)
        }
        .await;
        let event = match &result {
            Ok(c) => event.details(channel_details(Some(c.id), &c.spec)),
            Err(_) => event,
        };
        Ok(self.recorded(event, result).await?.masked())
    }

    /// Replaces channel `id`; a secret sent back masked keeps the stored one.
    pub async fn update_channel(
        &self,
        caller: &Caller,
        id: ChannelId,
        spec: ChannelSpec,
    ) -> Result<Channel, AlertError> {
        let op = Operation::UpdateChannel;
        let event = channel_event(caller, op, Some(id), &spec);
        access::check(&self.inner.events, caller, op, Scope::none()).await?;
        let result = async {
            let old = self.channel(id)?;
            let mut spec = ChannelSpec {
                name: spec.name.trim().to_string(),
                ..spec
            };
            spec.target.keep_secrets_from(&old.spec.target);
            self.check_channel(&spec).await?;
            match self
                .inner
                .channels
                .update(&self.inner.store, id.0, |_| Channel { id, spec })
                .await?
            {
                Some((_, new)) => Ok(new),
                None => Err(AlertError::NotFound(format!("there is no channel {id}"))),
            }
        }
        .await;
        Ok(self.recorded(event, result).await?.masked())
    }

    /// Deletes channel `id` and takes it out of every rule.
    pub async fn delete_channel(&self, caller: &Caller, id: ChannelId) -> Result<(), AlertError> {
        let op = Operation::DeleteChannel;
        let name = self.inner.channels.get(id.0).map(|c| c.spec.name);
        let mut event = caller
            .event(op.kind())
            .details(serde_json::json!({ "channel": id.0, "name": name }));
        if let Some(n) = &name {
            event = event.target(format!("channel:{n}"));
        }
        access::check(&self.inner.events, caller, op, Scope::none()).await?;
        let result = async {
            self.inner
                .channels
                .remove(&self.inner.store, id.0)
                .await?
                .ok_or_else(|| AlertError::NotFound(format!("there is no channel {id}")))?;
            let using: Vec<u64> = self
                .inner
                .rules
                .all()
                .values()
                .filter(|r| r.spec.channels.contains(&id))
                .map(|r| r.id.0)
                .collect();
            for rule in using {
                self.inner
                    .rules
                    .update(&self.inner.store, rule, |r| {
                        let mut r = r.clone();
                        r.spec.channels.retain(|c| *c != id);
                        r
                    })
                    .await?;
            }
            Ok(())
        }
        .await;
        self.recorded(event, result).await
    }

    /// Sends a test notification to channel `id` now, once; the attempt
    /// is recorded as `alert.deliver` (by `deliver`) and its report returned.
    pub async fn test_channel(&self, caller: &Caller, id: ChannelId) -> Result<DeliveryReport, AlertError> {
        let op = Operation::TestChannel;
        access::check(&self.inner.events, caller, op, Scope::none()).await?;
        let channel = self.channel(id)?;
        let now = crate::events::now_ns() / 1_000_000;
        let n = Notification {
            id: super::run::notification_id(),
            rule: RuleId(0),
            rule_name: "Test".into(),
            severity: Severity::Info,
            state: crate::model::AlertState::Firing,
            repeat: false,
            test: true,
            host: None,
            subject: format!("channel {}", channel.spec.name),
            summary: format!("A test from berth, sent by {}.", caller.name()),
            value: None,
            since_ms: now,
            at_ms: now,
            url: self
                .inner
                .settings
                .public_url
                .as_ref()
                .map(|u| format!("{}/alerts", u.trim_end_matches('/'))),
        };
        let report = self.inner.deliveries.send_now(&n, &channel).await;
        self.inner.events.record(
            caller
                .event(op.kind())
                .target(format!("channel:{}", channel.spec.name))
                .outcome(if report.ok {
                    Outcome::Ok
                } else {
                    Outcome::Error(report.detail.clone())
                })
                .details(serde_json::json!({ "channel": id.0, "notification": n.id })),
        );
        Ok(report)
    }
}

fn rule_event(caller: &Caller, op: Operation, scope: &Scope, id: Option<RuleId>, spec: &RuleSpec) -> NewEvent {
    let mut event = caller.event(op.kind()).details(rule_details(id, spec));
    if let Some(h) = &scope.host {
        event = event.host(h.clone());
    }
    if let Some(t) = &scope.target {
        event = event.target(t.clone());
    }
    event
}

/// What a rule change records: the rule as sent, cut to a sane size.
fn rule_details(id: Option<RuleId>, spec: &RuleSpec) -> serde_json::Value {
    let mut spec = spec.clone();
    spec.name = spec.name.chars().take(100).collect();
    if let Condition::LogPattern { pattern, .. } = &mut spec.condition {
        *pattern = pattern.chars().take(200).collect();
    }
    spec.silences.truncate(crate::model::MAX_SILENCES);
    spec.channels.truncate(crate::model::MAX_RULE_CHANNELS);
    serde_json::json!({ "rule": id.map(|r| r.0), "spec": spec })
}

fn channel_event(caller: &Caller, op: Operation, id: Option<ChannelId>, spec: &ChannelSpec) -> NewEvent {
    caller
        .event(op.kind())
        .target(format!("channel:{}", spec.name.chars().take(100).collect::<String>()))
        .details(channel_details(id, spec))
}

/// What a channel change records: its name and kind, never its settings
/// (URLs of chat webhooks are keys).
fn channel_details(id: Option<ChannelId>, spec: &ChannelSpec) -> serde_json::Value {
    serde_json::json!({
        "channel": id.map(|c| c.0),
        "name": spec.name.chars().take(100).collect::<String>(),
        "channel_kind": spec.target.kind(),
        "enabled": spec.enabled,
    })
}
