use super::*;
use crate::model::{EventFilter, Grant, Level, NewApiKey, Operation, Permissions, Right};

fn cli() -> Caller {
    Caller::system("cli")
}

async fn setup() -> (tempfile::TempDir, Auth, EventLog) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    let events = EventLog::open(&store).unwrap();
    (dir, Auth::new(store, events.clone()), events)
}

async fn kinds(events: &EventLog) -> Vec<String> {
    let page = events.query(EventFilter::default(), None, 100).await.unwrap();
    page.events
        .into_iter()
        .rev()
        .map(|e| format!("{}:{}", e.kind, e.outcome.label()))
        .collect()
}

#[tokio::test]
async fn setup_creates_the_first_admin_once() {
    let (_dir, auth, events) = setup().await;
    let token = auth.open_setup().await.unwrap().expect("no users yet");
    assert!(matches!(
        auth.setup("wrong", "root", "a good password", None).await,
        Err(AuthError::BadSetupToken)
    ));
    let admin = auth
        .setup(&token, "Root", "a good password", Some("127.0.0.1".into()))
        .await
        .unwrap();
    assert_eq!((admin.name.as_str(), admin.role), ("root", Role::Admin));
    assert!(matches!(
        auth.setup(&token, "two", "a good password", None).await,
        Err(AuthError::SetupClosed)
    ));
    assert_eq!(auth.open_setup().await.unwrap(), None);
    assert_eq!(
        kinds(&events).await,
        [
            "setup.admin_create:denied",
            "setup.admin_create:ok",
            "setup.admin_create:denied"
        ]
    );
}

#[tokio::test]
async fn login_checks_the_password_and_records_every_attempt() {
    let (_dir, auth, events) = setup().await;
    auth.create_user(&cli(), "alice", "alice's password", Role::User)
        .await
        .unwrap();
    let ok = auth
        .login("Alice", "alice's password", Some("10.1.1.1".into()))
        .await
        .unwrap();
    assert_eq!(ok.name, "alice");
    assert!(matches!(
        auth.login("alice", "nope nope", None).await,
        Err(AuthError::BadCredentials)
    ));
    assert!(matches!(
        auth.login("mallory", "whatever1", None).await,
        Err(AuthError::BadCredentials)
    ));
    let page = events.query(EventFilter::default(), None, 10).await.unwrap();
    let failed = &page.events[0];
    assert_eq!(failed.kind, "auth.login.failed");
    assert_eq!(failed.details["reason"], "unknown user");
    assert_eq!(page.events[2].source.as_deref(), Some("10.1.1.1"));
    assert!(
        !serde_json::to_string(&page.events).unwrap().contains("nope nope"),
        "a password reached the log"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password() {
    let (_dir, auth, events) = setup().await;
    auth.create_user(&cli(), "bob", "bob's password", Role::User)
        .await
        .unwrap();
    for _ in 0..6 {
        let _ = auth.login("bob", "guess guess", None).await;
    }
    match auth.login("bob", "bob's password", None).await {
        Err(AuthError::Throttled(secs)) => assert!(secs >= 1),
        other => panic!("expected throttling, got {other:?}"),
    }
    assert_eq!(kinds(&events).await.last().unwrap(), "auth.login.throttled:denied");
}

#[tokio::test]
async fn bad_names_passwords_and_duplicates_are_refused_with_reasons() {
    let (_dir, auth, _events) = setup().await;
    let create = |name: &'static str, pw: &'static str| {
        let auth = auth.clone();
        async move { auth.create_user(&cli(), name, pw, Role::User).await }
    };
    assert!(
        create("has space", "long enough")
            .await
            .unwrap_err()
            .to_string()
            .contains("user name")
    );
    assert!(
        create("carol", "short")
            .await
            .unwrap_err()
            .to_string()
            .contains("too short")
    );
    assert!(create("carol", "CAROLcarol").await.is_ok());
    assert!(matches!(
        create("CAROL", "another one").await,
        Err(AuthError::NameTaken(_))
    ));
    assert_eq!(auth.user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn tickets_resolve_to_their_user() {
    let (_dir, auth, _events) = setup().await;
    let u = auth
        .create_user(&cli(), "dave", "dave's password", Role::Admin)
        .await
        .unwrap();
    let caller = Caller::signed_in(u.clone(), Vec::new(), None);
    let t = auth.issue_ticket(&caller, Purpose::Events, None).await.unwrap();
    let grant = auth.redeem_ticket(&t, Purpose::Events).expect("a fresh ticket works");
    assert_eq!(grant.identity, Identity { user: u.id, key: None });
    assert_eq!(auth.redeem_ticket(&t, Purpose::Events), None);
    let resolved = auth.resolve(&grant.identity, None).await.unwrap().unwrap();
    assert_eq!(resolved.user(), Some(&u));
}

#[tokio::test]
async fn a_plain_user_gets_no_ticket_for_a_host_they_cannot_see_and_the_refusal_is_recorded() {
    let (_dir, auth, events) = setup().await;
    let u = auth
        .create_user(&cli(), "erin", "erin's password", Role::User)
        .await
        .unwrap();
    let caller = Caller::signed_in(u, vec![Grant::new("web", Level::View)], None);
    assert!(
        auth.issue_ticket(&caller, Purpose::Containers, Some("web"))
            .await
            .is_ok()
    );
    assert!(matches!(
        auth.issue_ticket(&caller, Purpose::Containers, Some("db")).await,
        Err(AuthError::Access(_))
    ));
    assert_eq!(kinds(&events).await.last().unwrap(), "host.view:denied");
}

#[tokio::test]
async fn keys_resolve_to_their_owner_narrowed_and_stop_when_revoked_or_the_owner_is_disabled() {
    let (_dir, auth, events) = setup().await;
    let admin = auth
        .create_user(&cli(), "root", "root's password", Role::Admin)
        .await
        .unwrap();
    let admin = Caller::signed_in(admin, Vec::new(), None);
    let u = auth
        .create_user(&cli(), "fay", "fay's password", Role::User)
        .await
        .unwrap();
    auth.set_grants(&admin, u.id, vec![Grant::new("*", Level::Operate)])
        .await
        .unwrap();
    let fay = auth
        .resolve(&Identity { user: u.id, key: None }, None)
        .await
        .unwrap()
        .unwrap();
    let narrow = NewApiKey {
        name: "ci".into(),
        expires_days: Some(30),
        grants: Some(vec![Grant::new("web", Level::Operate)]),
    };
    let created = auth.create_key(&fay, narrow).await.unwrap();
    let key = auth.key_caller(&created.token, Some("10.0.0.5".into())).await.unwrap();
    assert_eq!(key.actor().to_string(), "apikey:fay/ci");
    assert!(key.may(Operation::StopContainer, Some("web")));
    assert!(!key.may(Operation::ViewHost, Some("db")), "never wider than the key");
    auth.set_grants(&admin, u.id, vec![Grant::new("*", Level::View)])
        .await
        .unwrap();
    let key = auth.key_caller(&created.token, None).await.unwrap();
    assert!(
        !key.may(Operation::StopContainer, Some("web")),
        "never wider than the owner, also after the owner's grants shrink"
    );
    assert!(matches!(
        auth.key_caller("berth_nonsense", None).await,
        Err(AuthError::BadKey(_))
    ));
    auth.set_disabled(&admin, u.id, true).await.unwrap();
    assert!(matches!(
        auth.key_caller(&created.token, None).await,
        Err(AuthError::BadKey(_))
    ));
    auth.set_disabled(&admin, u.id, false).await.unwrap();
    assert!(auth.key_caller(&created.token, None).await.is_ok());
    auth.revoke_key(&fay, &created.key.id).await.unwrap();
    assert!(matches!(
        auth.key_caller(&created.token, None).await,
        Err(AuthError::BadKey(_))
    ));
    let log = serde_json::to_string(&events.query(EventFilter::default(), None, 100).await.unwrap()).unwrap();
    assert!(!log.contains(&created.token[20..]), "a key's secret reached the log");
}

#[tokio::test]
async fn berth_keeps_an_active_admin_and_deleted_ids_are_not_reused() {
    let (_dir, auth, _events) = setup().await;
    let root = auth
        .create_user(&cli(), "root", "root's password", Role::Admin)
        .await
        .unwrap();
    let root_caller = Caller::signed_in(root.clone(), Vec::new(), None);
    let other = auth
        .create_user(&cli(), "gus", "gus's password", Role::Admin)
        .await
        .unwrap();
    assert!(matches!(
        auth.set_disabled(&root_caller, root.id, true).await,
        Err(AuthError::Conflict(_))
    ));
    auth.delete_user(&root_caller, other.id).await.unwrap();
    let next = auth
        .create_user(&cli(), "hal", "hal's password", Role::User)
        .await
        .unwrap();
    assert!(next.id > other.id, "user ids are never reused");
    let gus = Caller::signed_in(other, Vec::new(), None);
    assert!(
        matches!(
            auth.set_role(&gus, root.id, Role::User).await,
            Err(AuthError::Conflict(_))
        ),
        "demoting the last active admin is refused"
    );
}

#[tokio::test]
async fn expired_sessions_are_hidden_purged_and_recorded() {
    use tower_sessions::session::{Id, Record};
    use tower_sessions::{ExpiredDeletion, SessionStore};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("berth.redb")).unwrap();
    let events = EventLog::open(&store).unwrap();
    let sessions = RedbSessionStore::new(store, events.clone());
    let record = |minutes: i64, name: &str| {
        let mut data = std::collections::HashMap::new();
        data.insert(USER_NAME_KEY.to_string(), serde_json::json!(name));
        Record {
            id: Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
        }
    };
    let mut live = record(30, "alice");
    let mut old = record(-1, "bob");
    sessions.create(&mut live).await.unwrap();
    sessions.create(&mut old).await.unwrap();
    assert!(sessions.load(&live.id).await.unwrap().is_some());
    assert!(
        sessions.load(&old.id).await.unwrap().is_none(),
        "an expired session must not load"
    );

    sessions.delete_expired().await.unwrap();
    events.flush().await.unwrap();
    let page = events.query(EventFilter::default(), None, 10).await.unwrap();
    let expired: Vec<_> = page
        .events
        .iter()
        .filter(|e| e.kind == "auth.session.expired")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].target.as_deref(), Some("user:bob"));
    assert!(
        sessions.load(&live.id).await.unwrap().is_some(),
        "a live session survives the purge"
    );
}

#[test]
fn a_key_grant_wider_than_its_creator_is_named() {
    let viewer = Permissions::of(vec![Grant::new("web", Level::View).with(Right::Logs)]);
    let within = [Grant::new("web", Level::View).with(Right::Logs)];
    assert_eq!(admin::wider_grant(&viewer, &within), None);
    let wider = |g: Grant| admin::wider_grant(&viewer, &[g]).expect("refused");
    let all = wider(Grant::new("*", Level::View));
    assert!(all.contains("every host ('*')") && all.contains("view"), "{all}");
    let more = wider(Grant::new("web", Level::Manage));
    assert!(more.contains("host 'web'") && more.contains("manage"), "{more}");
    let right = wider(Grant::new("web", Level::View).with(Right::Terminal));
    assert!(right.contains("terminal"), "{right}");
    assert!(wider(Grant::new("db", Level::View)).contains("host 'db'"));
    // View on `*` covers each host, but view on each host is not view on `*`.
    let everywhere = Permissions::of(vec![Grant::new("*", Level::Operate)]);
    assert_eq!(
        admin::wider_grant(&everywhere, &[Grant::new("web", Level::Operate)]),
        None
    );
    assert_eq!(admin::wider_grant(&everywhere, &[Grant::new("*", Level::View)]), None);
    assert!(admin::wider_grant(&everywhere, &[Grant::new("*", Level::Manage)]).is_some());
    let admin = Permissions::admin();
    let widest = [Grant::new("*", Level::Manage)
        .with(Right::Secrets)
        .with(Right::Terminal)];
    assert_eq!(admin::wider_grant(&admin, &widest), None);
}

#[tokio::test]
async fn a_viewer_cannot_make_a_key_wider_than_themself_and_nothing_is_stored() {
    let (_dir, auth, events) = setup().await;
    let root = auth
        .create_user(&cli(), "root", "root's password", Role::Admin)
        .await
        .unwrap();
    let root = Caller::signed_in(root, Vec::new(), None);
    let u = auth
        .create_user(&cli(), "vic", "vic's password", Role::User)
        .await
        .unwrap();
    auth.set_grants(&root, u.id, vec![Grant::new("web", Level::View)])
        .await
        .unwrap();
    let vic = auth
        .resolve(&Identity { user: u.id, key: None }, None)
        .await
        .unwrap()
        .unwrap();
    let widest = vec![
        Grant::new("*", Level::Manage)
            .with(Right::Logs)
            .with(Right::Terminal)
            .with(Right::Secrets),
    ];
    let key = |grants: Vec<Grant>| NewApiKey {
        name: "wide".into(),
        expires_days: None,
        grants: Some(grants),
    };
    let refused = auth.create_key(&vic, key(widest.clone())).await.unwrap_err();
    assert!(matches!(refused, AuthError::Invalid(_)), "{refused:?}");
    assert!(refused.to_string().contains("every host ('*')"), "{refused}");
    assert!(auth.keys(&vic).await.unwrap().is_empty(), "a refused key was stored");
    assert_eq!(kinds(&events).await.last().unwrap(), "apikey.create:error");
    auth.create_key(&vic, key(vec![Grant::new("web", Level::View)]))
        .await
        .unwrap();
    auth.create_key(&root, key(widest)).await.expect("admins make any key");
}
