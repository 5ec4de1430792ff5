//! Receiving a stack's push webhook: the delivery checked against the
//! stack's secret (`webhook`), read, decided once (deploy, pong, another
//! branch, skipped, a duplicate, ignored or refused), stored with its
//! verdict and recorded as one `webhook.delivery` event, whatever the
//! verdict. A delivery that deploys is answered 202 with the deploy's id
//! once the deploy is stored and queued; a delivery id seen before for the
//! stack never deploys again (decided in the transaction that marks it
//! seen).

use super::webhook::{self, Delivery, Push, Verdict};
use super::{Stacks, store};
use crate::access::Caller;
use crate::events::now_ns;
use crate::model::{Actor, DeliveryRecord, DeployTrigger, EventKind, NewEvent, Outcome};
use serde_json::json;

/// The largest delivery body read; a bigger one is refused (413) and
/// recorded with the digest of what was read.
pub const MAX_BODY: usize = 5 * 1024 * 1024;

/// The answer to a forge.
#[derive(Debug)]
pub struct Receipt {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Stacks {
    /// Handles one delivery for the stack `name` on `host`. `body` is the
    /// raw body (at most `MAX_BODY`; `over_limit` when more was sent and
    /// cut), `source` the sender's address for the record.
    pub async fn receive(
        &self,
        host: &str,
        name: &str,
        headers: &http::HeaderMap,
        body: &[u8],
        over_limit: bool,
        source: Option<String>,
    ) -> Receipt {
        let at = now_ns();
        let digest = webhook::BodyDigest::of(body);
        let mut record = DeliveryRecord {
            at_ns: at,
            provider: String::new(),
            event: String::new(),
            delivery_id: None,
            body_sha256: digest.hex(),
            branch: None,
            commit: None,
            verdict: "refused".into(),
            reason: None,
            deploy: None,
        };
        let def = self.definition(host, name).await.ok();
        let secret = match &def {
            Some(d) if d.webhook => {
                let (h, n) = (host.to_string(), name.to_string());
                self.inner
                    .store
                    .blocking(move |db| store::secret(db, &h, &n, "webhook"))
                    .await
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        let (Some(def), Some(secret)) = (def, secret) else {
            // Nothing to store it under: the event is the record.
            record.reason = Some(format!("stack '{name}' on {host} has no webhook turned on"));
            self.record_delivery_event(host, name, &record, source).await;
            return refusal(404, record.reason.as_deref().unwrap_or_default());
        };
        if over_limit {
            record.reason = Some(format!("the body is over {} MiB", MAX_BODY / 1024 / 1024));
            return self.refuse(host, name, record, 413, source).await;
        }
        let (_, checked) = webhook::verify(headers, body, secret.as_bytes());
        let delivery: Delivery = match checked {
            Ok(d) => d,
            Err(why) => {
                // What the unverified headers claim, for the record (never trusted).
                let claimed = |names: &[&str]| {
                    names.iter().find_map(|n| {
                        let v = headers.get(*n)?.to_str().ok()?;
                        let v: String = v
                            .chars()
                            .filter(|c| c.is_ascii_graphic() || *c == ' ')
                            .take(128)
                            .collect();
                        (!v.is_empty()).then_some(v)
                    })
                };
                record.event = claimed(&["x-github-event", "x-gitea-event", "x-gitlab-event", "x-berth-event"])
                    .unwrap_or_default();
                record.delivery_id = claimed(&[
                    "x-github-delivery",
                    "x-gitea-delivery",
                    "x-gitlab-event-uuid",
                    "x-berth-delivery",
                ]);
                record.reason = Some(why.to_string());
                return self.refuse(host, name, record, why.status(), source).await;
            }
        };
        record.provider = delivery.provider.as_str().into();
        record.event = delivery.event.as_str().into();
        record.delivery_id = delivery.delivery_id.as_ref().map(|d| d.as_str().to_string());
        let push: Option<Push> = match delivery.event {
            webhook::EventType::Push => match webhook::read_push(delivery.provider, body) {
                Ok(p) => Some(p),
                Err(e) => {
                    record.reason = Some(format!("the push cannot be read: {e}"));
                    return self.refuse(host, name, record, e.status(), source).await;
                }
            },
            _ => None,
        };
        if let Some(p) = &push {
            record.branch = p.branch.clone();
            record.commit = p.commit.as_ref().map(|c| c.as_str().to_string());
        }
        let branch = match &def.source {
            crate::model::StackSource::Git { branch, .. } => branch.clone(),
            crate::model::StackSource::Inline { .. } => String::new(),
        };
        let on_push = def.on_push;
        let (h, n, id) = (host.to_string(), name.to_string(), record.delivery_id.clone());
        let (d2, p2, r2) = (delivery.clone(), push.clone(), record.clone());
        let stored = self
            .inner
            .store
            .blocking(move |db| {
                store::record_delivery(db, &h, &n, id.as_deref(), at, |seen| {
                    let mut r = r2;
                    let verdict = webhook::decide(&d2, p2.as_ref(), &branch, seen);
                    r.verdict = verdict.as_str().into();
                    r.reason = reason(&verdict);
                    if matches!(verdict, Verdict::Deploy { .. }) && !on_push {
                        r.verdict = "ignored".into();
                        r.reason = Some("deploy on push is off for this stack".into());
                    }
                    r
                })
            })
            .await;
        let mut record = match stored {
            Ok(r) => r,
            Err(e) => {
                record.reason = Some(format!("berth could not store the delivery: {e}"));
                self.record_delivery_event(host, name, &record, source).await;
                return Receipt {
                    status: 503,
                    body: json!({ "error": "berth could not store the delivery; send it again" }),
                };
            }
        };
        if record.verdict != "deploy" {
            self.record_delivery_event(host, name, &record, source).await;
            return Receipt {
                status: 200,
                body: json!({ "verdict": record.verdict, "reason": record.reason }),
            };
        }
        let caller = Caller::system("webhook");
        let trigger = DeployTrigger::Webhook {
            provider: record.provider.clone(),
            delivery: record.delivery_id.clone(),
        };
        let work = super::queue::Work::Build {
            commit: record.commit.clone(),
        };
        match self.enqueue(&caller, host, name, work, trigger, true).await {
            Ok(deploy) => {
                record.deploy = Some(deploy.id);
                let (h, n, id) = (host.to_string(), name.to_string(), deploy.id);
                let _ = self
                    .inner
                    .store
                    .blocking(move |db| store::set_delivery_deploy(db, &h, &n, at, id))
                    .await;
                self.record_delivery_event(host, name, &record, source).await;
                Receipt {
                    status: 202,
                    body: json!({ "verdict": "deploy", "deploy": deploy.id, "commit": record.commit }),
                }
            }
            Err(e) => {
                record.verdict = "refused".into();
                record.reason = Some(format!("the deploy could not be queued: {e}"));
                self.record_delivery_event(host, name, &record, source).await;
                Receipt {
                    status: 503,
                    body: json!({ "error": record.reason }),
                }
            }
        }
    }

    async fn refuse(
        &self,
        host: &str,
        name: &str,
        record: DeliveryRecord,
        status: u16,
        source: Option<String>,
    ) -> Receipt {
        let (h, n, r) = (host.to_string(), name.to_string(), record.clone());
        let at = record.at_ns;
        // A refused delivery is kept too, without marking its id seen (a
        // forged copy must not block the real one).
        let _ = self
            .inner
            .store
            .blocking(move |db| store::record_delivery(db, &h, &n, None, at, |_| r))
            .await;
        self.record_delivery_event(host, name, &record, source).await;
        refusal(status, record.reason.as_deref().unwrap_or_default())
    }

    async fn record_delivery_event(&self, host: &str, name: &str, r: &DeliveryRecord, source: Option<String>) {
        let outcome = match r.verdict.as_str() {
            "refused" => Outcome::Denied(r.reason.clone().unwrap_or_default()),
            _ => Outcome::Ok,
        };
        let event = NewEvent::new(EventKind::WebhookDelivery, Actor::system())
            .host(host.to_string())
            .target(format!("stack:{name}"))
            .source(source)
            .outcome(outcome)
            .details(json!({
                "provider": r.provider, "event": r.event, "delivery_id": r.delivery_id,
                "body_sha256": r.body_sha256, "branch": r.branch, "commit": r.commit,
                "verdict": r.verdict, "reason": r.reason, "deploy": r.deploy,
            }));
        if let Err(e) = self.inner.events.append(event).await {
            tracing::error!(error = %e, "could not record a webhook delivery");
        }
    }
}

fn reason(verdict: &Verdict) -> Option<String> {
    match verdict {
        Verdict::Deploy { .. } => None,
        Verdict::Pong => Some("ping answered".into()),
        Verdict::OtherBranch { branch } => Some(format!("a push to {branch}, not the stack's branch")),
        Verdict::Skipped => Some("the head commit asks to skip deploys".into()),
        Verdict::Duplicate => Some("this delivery id was received before".into()),
        Verdict::Ignored { why } => Some(why.to_string()),
    }
}

fn refusal(status: u16, message: &str) -> Receipt {
    Receipt {
        status,
        body: json!({ "error": message }),
    }
}
