//! The kinds of event berth records that are not a caller's operation, in
//! one table: what the server, the engine, alerts and the log itself say
//! happened. A caller's operations have their kinds in `Operation::kind`.
//! The wire strings are what existing logs hold: never change one.

/// One table: each row a variant and the exact string the log stores.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $name:ident = $wire:literal,)*) => {
        /// A kind of event berth records on its own account (or the
        /// engine's), as stored in `Event::kind`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($(#[$doc])* $name,)*
        }

        impl EventKind {
            /// Every kind in the table.
            pub const ALL: &[EventKind] = &[$(EventKind::$name,)*];

            /// The dotted string the log stores.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$name => $wire,)*
                }
            }
        }
    };
}

event_kinds! {
    /// berth started serving.
    ServerStart = "server.start",
    /// berth stopped serving.
    ServerStop = "server.stop",
    /// The first administrator was made at setup.
    SetupAdminCreate = "setup.admin_create",
    /// A sign-in succeeded.
    LoginOk = "auth.login.ok",
    /// A sign-in failed.
    LoginFailed = "auth.login.failed",
    /// A sign-in was refused for too many failures.
    LoginThrottled = "auth.login.throttled",
    /// Someone signed out.
    Logout = "auth.logout",
    /// A session ran out.
    SessionExpired = "auth.session.expired",
    /// An API key was refused.
    ApiKeyRefused = "auth.apikey.refused",
    /// A request from another origin was refused.
    HttpOriginDenied = "http.origin_denied",
    /// A websocket was refused.
    WsRefused = "ws.refused",
    /// The event log was checked at start.
    EventsVerify = "events.verify",
    /// A checkpoint of the log was signed.
    LogCheckpoint = "log.checkpoint",
    /// A witness cosigned a checkpoint.
    LogWitness = "log.witness",
    /// Retention dropped the oldest events.
    LogTruncated = "log.truncated",
    /// berth reached a host's engine.
    HostConnect = "host.connect",
    /// berth lost a host's engine.
    HostDisconnect = "host.disconnect",
    /// A host's engine stayed out of reach.
    HostUnreachable = "host.unreachable",
    /// The engine no longer had events berth missed.
    HostEventsGap = "host.events_gap",
    /// A container left its expected state.
    ContainerDrift = "container.drift",
    /// A container is back in its expected state.
    ContainerDriftEnd = "container.drift_end",
    /// Stored logs dropped lines.
    LogsDropped = "logs.dropped",
    /// A terminal session ended.
    TerminalClose = "terminal.close",
    /// A terminal recording was dropped for the budget.
    TerminalRecordingDropped = "terminal.recording_dropped",
    /// A deploy started (stack, host, commit, who or which delivery).
    DeployStart = "deploy.start",
    /// A deploy's step ended.
    DeployStep = "deploy.step",
    /// A deploy ended: its state, the image id of every service, the
    /// SHA-256 of its output.
    DeployFinish = "deploy.finish",
    /// A failed deploy put the previous version back.
    DeployRollback = "deploy.rollback",
    /// A webhook delivery arrived: provider, event, delivery id, the
    /// SHA-256 of its body, its verdict.
    WebhookDelivery = "webhook.delivery",
    /// An alert began to fire.
    AlertFire = "alert.fire",
    /// A firing alert resolved.
    AlertResolve = "alert.resolve",
    /// A notification was sent (or failed).
    AlertDeliver = "alert.deliver",
    /// The engine reports: a container was created.
    ContainerCreate = "container.create",
    /// The engine reports: a container started.
    ContainerStart = "container.start",
    /// The engine reports: a container was stopped.
    ContainerStop = "container.stop",
    /// The engine reports: a container's process ended.
    ContainerDie = "container.die",
    /// The engine reports: a container restarted.
    ContainerRestart = "container.restart",
    /// The engine reports: a container was removed.
    ContainerDestroy = "container.destroy",
    /// The engine reports: the kernel killed a container for memory.
    ContainerOom = "container.oom",
}

impl EventKind {
    /// The kind a stored string is, if it is in the table.
    pub fn parse(kind: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == kind)
    }

    /// Whether `kind` (as stored) is this one.
    pub fn is(self, kind: &str) -> bool {
        self.as_str() == kind
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<EventKind> for String {
    fn from(kind: EventKind) -> String {
        kind.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_and_none_is_told_twice() {
        let mut seen = std::collections::HashSet::new();
        for &k in EventKind::ALL {
            assert!(seen.insert(k.as_str()), "{k} twice");
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert!(k.as_str().contains('.'), "{k} is dotted");
        }
        assert_eq!(EventKind::AlertFire.as_str(), "alert.fire");
        assert_eq!(EventKind::parse("container.kill"), None);
    }
}
