//! Referral news: notifications without content, `referralsChangedSince`, and the
//! `referralStatusChanged` subscription over WebSocket.
//!
//! Referrals, clients and their events are written straight into the database here, the way the
//! referral module writes them (the audit row first, then the event), so these tests do not depend
//! on the referral mutations.

use std::time::Duration;

use chrono::{DateTime, Utc};
use qiao_schema::domain::{ConsentMethod, NotificationRecipient, ReferralStatus, Urgency};
use qiao_schema::entity::{
    account, client, consent, notification_cursor, notification_outbox, referral, referral_event, service,
};
use qiao_server::clock::Clock;
use qiao_server::news::notify::{self, Message, SendError, Sender};
use qiao_server::privacy::audit::{self, AuditAction, AuditEntry};
use qiao_server::privacy::crypto::{DataCipher, DataKey, Slot};
use qiao_tests::{SocketEvent, TEST_DATA_KEY, TestApp, backends, error_code};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const PHONE: &str = "13912345678";
const NAME: &str = "测试客户王小明";

fn cipher() -> DataCipher {
    DataCipher::new(vec![DataKey { kid: "test".into(), secret: TEST_DATA_KEY }], b"qiao-test-phone-pepper".to_vec())
}

fn id(kind: &str, key: &str) -> String {
    qiao_seed::rows::derived_id(kind, key)
}

/// The demo people and the legal aid service referrals go to.
struct Fixture {
    db: DatabaseConnection,
    now: DateTime<Utc>,
    worker: account::Model,
    provider: account::Model,
    service_id: String,
    target_org: String,
}

impl Fixture {
    async fn of(app: &TestApp) -> Self {
        let db = app.database().await;
        let by_name = |name: &'static str| {
            let db = db.clone();
            async move {
                account::Entity::find()
                    .filter(account::Column::Username.eq(name))
                    .one(&db)
                    .await
                    .expect("query")
                    .expect("demo account")
            }
        };
        let worker = by_name("worker.tvillage").await;
        let provider = by_name("provider.legalaid").await;
        let service_id = id("service", "sh-minhang-legal-aid");
        let target_org = service::Entity::find_by_id(service_id.clone())
            .one(&db)
            .await
            .expect("query")
            .expect("service")
            .organization_id;
        assert_eq!(provider.organization_id.as_deref(), Some(target_org.as_str()), "the provider runs the service");
        Self { now: app.clock.now(), db, worker, provider, service_id, target_org }
    }

    fn worker_org(&self) -> String {
        self.worker.organization_id.clone().expect("the worker has an organisation")
    }

    /// A client of the worker's organisation, sealed as the client module seals.
    async fn client(&self, phone: Option<&str>, language: Option<&str>, accepts_messages: bool) -> String {
        let cipher = cipher();
        let client_id = uuid::Uuid::now_v7().to_string();
        let slot = |field| Slot { table: "client", id: &client_id, field };
        client::Entity::insert(client::ActiveModel {
            id: Set(client_id.clone()),
            organization_id: Set(self.worker_org()),
            created_by: Set(self.worker.id.clone()),
            display_name_sealed: Set(cipher.seal(slot("display_name"), NAME).expect("seal")),
            phone_sealed: Set(cipher.seal_optional(slot("phone"), phone).expect("seal")),
            phone_digest: Set(None),
            preferred_language_sealed: Set(cipher.seal_optional(slot("preferred_language"), language).expect("seal")),
            notes_sealed: Set(None),
            sensitive_kinds: Set(String::new()),
            accepts_messages: Set(accepts_messages),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            erased_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .expect("insert a client");
        client_id
    }

    async fn consent(&self, client_id: &str) -> String {
        let consent_id = uuid::Uuid::now_v7().to_string();
        let purpose =
            cipher().seal(Slot { table: "consent", id: &consent_id, field: "purpose" }, "法律援助转介").expect("seal");
        consent::Entity::insert(consent::ActiveModel {
            id: Set(consent_id.clone()),
            client_id: Set(client_id.to_owned()),
            recipient_organization_id: Set(self.target_org.clone()),
            data_scope: Set("display_name,phone".to_owned()),
            purpose_sealed: Set(purpose),
            method: Set(ConsentMethod::Spoken),
            captured_by: Set(self.worker.id.clone()),
            captured_at: Set(self.now),
            withdrawn_at: Set(None),
            withdrawn_by: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .expect("insert a consent");
        consent_id
    }

    async fn withdraw(&self, consent_id: &str) {
        consent::Entity::update_many()
            .col_expr(consent::Column::WithdrawnAt, sea_orm::sea_query::Expr::value(Some(self.now)))
            .filter(consent::Column::Id.eq(consent_id))
            .exec(&self.db)
            .await
            .expect("withdraw");
    }

    /// A referral by the worker, created as `requested` (with its event). Returns (id, code).
    async fn referral(&self, client_id: &str, live: bool) -> (String, String) {
        let referral_id = uuid::Uuid::now_v7().to_string();
        let code = format!("QX{}", &uuid::Uuid::now_v7().simple().to_string()[20..].to_uppercase());
        referral::Entity::insert(referral::ActiveModel {
            id: Set(referral_id.clone()),
            code: Set(code.clone()),
            client_id: Set(client_id.to_owned()),
            service_id: Set(self.service_id.clone()),
            location_id: Set(None),
            referring_account_id: Set(self.worker.id.clone()),
            referring_organization_id: Set(self.worker_org()),
            target_organization_id: Set(self.target_org.clone()),
            live: Set(live),
            status: Set(ReferralStatus::Draft),
            need_categories: Set("LEGAL_AID".to_owned()),
            needs_sealed: Set(None),
            urgency: Set(Urgency::Routine),
            follow_up_on: Set(None),
            reason_code: Set(None),
            outcome_sealed: Set(None),
            feedback: Set(None),
            feedback_reason_code: Set(None),
            feedback_at: Set(None),
            forwarded_from_id: Set(None),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            sent_at: Set(Some(self.now)),
            accepted_at: Set(None),
            ended_at: Set(None),
            retain_until: Set(None),
            purged_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await
        .expect("insert a referral");
        self.change(&referral_id, ReferralStatus::Requested, &self.worker).await;
        (referral_id, code)
    }

    /// Moves a referral to `to` as `actor`: the audit row first, then the status and the event
    /// (the referral module's order). Returns the event id.
    async fn change(&self, referral_id: &str, to: ReferralStatus, actor: &account::Model) -> i64 {
        // A write transaction, as the referral module opens one (SQLite: the write lock first).
        let txn = qiao_server::kernel::begin_write(&self.db).await.expect("begin");
        let role = if actor.id == self.provider.id { "provider_staff" } else { "social_worker" };
        let entry = AuditEntry {
            account_id: Some(actor.id.clone()),
            role: role.to_owned(),
            organization_id: actor.organization_id.clone(),
            record_type: "referral",
            record_id: referral_id.to_owned(),
            fields: vec!["status"],
            action: AuditAction::Update,
            purpose: "test status change".to_owned(),
            allowed: true,
            request_id: None,
            at: self.now,
        };
        audit::append(&txn, &entry).await.expect("audit");
        let previous =
            referral::Entity::find_by_id(referral_id.to_owned()).one(&txn).await.expect("q").expect("r").status;
        referral::Entity::update_many()
            .col_expr(referral::Column::Status, sea_orm::sea_query::Expr::value(to.to_value_string()))
            .filter(referral::Column::Id.eq(referral_id))
            .exec(&txn)
            .await
            .expect("update the status");
        let inserted = referral_event::Entity::insert(referral_event::ActiveModel {
            id: NotSet,
            referral_id: Set(referral_id.to_owned()),
            status: Set(Some(to)),
            previous_status: Set(Some(previous)),
            actor_account_id: Set(Some(actor.id.clone())),
            actor_role: Set(role.to_owned()),
            actor_organization_id: Set(actor.organization_id.clone()),
            reason_code: Set(None),
            note_sealed: Set(None),
            at: Set(self.now),
        })
        .exec(&txn)
        .await
        .expect("insert the event");
        txn.commit().await.expect("commit");
        inserted.last_insert_id
    }

    async fn outbox(&self) -> Vec<notification_outbox::Model> {
        notification_outbox::Entity::find()
            .order_by_asc(notification_outbox::Column::Id)
            .all(&self.db)
            .await
            .expect("outbox")
    }

    /// The outbox once every row is marked sent (within 5 s): the worker writes a message out
    /// first and marks its row after, so a test that saw the message may read the row a moment
    /// before it is marked. A row never marked is returned as it is, for the test to fail on.
    async fn outbox_when_sent(&self) -> Vec<notification_outbox::Model> {
        for _ in 0..200 {
            let outbox = self.outbox().await;
            if outbox.iter().all(|row| row.sent_at.is_some()) {
                return outbox;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.outbox().await
    }

    /// Waits until the server's worker has read every event up to `event_id`.
    async fn queued_up_to(&self, event_id: i64) {
        for _ in 0..200 {
            let cursor = notification_cursor::Entity::find().one(&self.db).await.expect("cursor");
            if cursor.is_some_and(|cursor| cursor.event_id >= event_id) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the notification worker did not reach event {event_id}");
    }
}

trait StatusText {
    fn to_value_string(self) -> String;
}

impl StatusText for ReferralStatus {
    fn to_value_string(self) -> String {
        use sea_orm::ActiveEnum;
        self.to_value()
    }
}

/// A server whose worker polls quickly.
async fn fast_server(backend: qiao_tests::Backend, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![("QIAO_NOTIFICATION_POLL_MS", "30"), ("QIAO_SUBSCRIPTION_POLL_MS", "30")];
    settings.extend_from_slice(extra);
    TestApp::spawn_configured(backend, true, &settings).await
}

async fn wait_for_lines(app: &TestApp, lines: usize) -> String {
    for _ in 0..200 {
        let text = std::fs::read_to_string(&app.notification_file).unwrap_or_default();
        if text.lines().count() >= lines {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {lines} notifications in {}", app.notification_file.display());
}

#[tokio::test]
async fn a_status_change_tells_the_referrer_and_the_consenting_client_that_there_is_news_and_nothing_more() {
    for backend in backends() {
        let app = fast_server(backend, &[]).await;
        let f = Fixture::of(&app).await;
        let client_id = f.client(Some(PHONE), Some("en"), true).await;
        f.consent(&client_id).await;
        let (referral_id, code) = f.referral(&client_id, true).await;
        // The worker sent it: the client hears (and learns the code); the worker is not told of
        // its own act.
        let text = wait_for_lines(&app, 1).await;
        assert!(text.contains(&format!("phone:139****5678 client:{client_id}\ten\t")), "{text}");
        f.change(&referral_id, ReferralStatus::Accepted, &f.provider).await;
        let text = wait_for_lines(&app, 3).await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let to_worker = lines.iter().find(|line| line.contains(&format!("account:{}", f.worker.id))).expect("worker");
        assert!(to_worker.ends_with(&format!("【桥】转介 {code} 有新进展，请打开桥查看。")), "{to_worker}");
        let to_client = lines[2];
        assert!(to_client.contains(&format!("Your referral {code} has news: open the Qiao app")), "{to_client}");
        // No phone number, name, service or status in any message.
        for forbidden in [PHONE, NAME, "法律", "Legal", "legal", "ACCEPTED", "accepted"] {
            assert!(!text.contains(forbidden), "a message holds {forbidden:?}: {text}");
        }
        let outbox = f.outbox_when_sent().await;
        assert_eq!(outbox.len(), 3);
        assert!(outbox.iter().all(|row| row.sent_at.is_some() && row.attempts == 1 && row.last_error.is_none()));
        let recipients: Vec<_> = outbox.iter().map(|row| row.recipient).collect();
        assert_eq!(
            recipients,
            vec![NotificationRecipient::Client, NotificationRecipient::SocialWorker, NotificationRecipient::Client]
        );
        // Unsealing the phone to send is on the audit trail, and the trail holds no phone.
        use sea_orm::PaginatorTrait;
        let phone_reads = qiao_schema::entity::audit_log::Entity::find()
            .filter(qiao_schema::entity::audit_log::Column::RecordId.eq(&client_id))
            .filter(qiao_schema::entity::audit_log::Column::Fields.eq("phone"))
            .count(&f.db)
            .await
            .expect("count");
        assert_eq!(phone_reads, 2);
        assert!(audit::verify(&f.db).await.expect("verify").is_ok());
        app.finish().await;
    }
}

#[tokio::test]
async fn clients_are_messaged_only_with_a_phone_their_agreement_and_for_a_live_referral_a_current_consent() {
    for backend in backends() {
        let app = fast_server(backend, &[("QIAO_NOTIFICATION_SENDER", "none")]).await;
        let f = Fixture::of(&app).await;
        let no_agreement = f.client(Some(PHONE), None, false).await;
        let no_phone = f.client(None, None, true).await;
        let no_consent = f.client(Some(PHONE), Some("yue"), true).await;
        let withdrawn = f.client(Some(PHONE), None, true).await;
        let consent = f.consent(&withdrawn).await;
        f.withdraw(&consent).await;
        let logged = f.client(Some(PHONE), Some("yue"), true).await;
        let mut last = 0;
        for (client_id, live) in
            [(&no_agreement, true), (&no_phone, true), (&no_consent, true), (&withdrawn, true), (&logged, false)]
        {
            let (referral_id, _) = f.referral(client_id, live).await;
            last = f.change(&referral_id, ReferralStatus::Accepted, &f.provider).await;
        }
        f.queued_up_to(last).await;
        let outbox = f.outbox().await;
        let to_clients: Vec<_> = outbox.iter().filter(|row| row.recipient == NotificationRecipient::Client).collect();
        assert_eq!(to_clients.len(), 2, "only the logged referral's client, for both events: {outbox:#?}");
        assert!(to_clients.iter().all(|row| row.client_id.as_deref() == Some(logged.as_str())));
        // A dialect speaker reads Chinese; the tag itself (personal data) is not stored.
        assert!(to_clients.iter().all(|row| row.language == "zh-CN"));
        let to_workers = outbox.iter().filter(|row| row.recipient == NotificationRecipient::SocialWorker).count();
        assert_eq!(to_workers, 5, "one per acceptance; none for the worker's own sending");
        // `none` queues without sending.
        assert!(outbox.iter().all(|row| row.sent_at.is_none() && row.attempts == 0));
        app.finish().await;
    }
}

/// A sender that fails until told otherwise, and counts.
struct Flaky {
    fail: std::sync::atomic::AtomicBool,
    sent: std::sync::Mutex<Vec<Message>>,
}

#[async_trait::async_trait]
impl Sender for Flaky {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SendError("gateway refused: quota exceeded".to_owned()));
        }
        self.sent.lock().expect("lock").push(message.clone());
        Ok(())
    }
}

#[tokio::test]
async fn queueing_twice_or_side_by_side_queues_once_and_failed_sends_back_off_then_succeed() {
    for backend in backends() {
        // The server's own worker waits ten minutes: this test drives the steps itself.
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_NOTIFICATION_POLL_MS", "600000")]).await;
        let f = Fixture::of(&app).await;
        let client_id = f.client(Some(PHONE), Some("zh-CN"), true).await;
        f.consent(&client_id).await;
        let (referral_id, _) = f.referral(&client_id, true).await;
        f.change(&referral_id, ReferralStatus::Accepted, &f.provider).await;
        let cipher = cipher();
        let (a, b) = tokio::join!(notify::enqueue(&f.db, &cipher, f.now), notify::enqueue(&f.db, &cipher, f.now));
        assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
        assert_eq!(f.outbox().await.len(), 3);
        // Even from the start again, nothing is queued twice.
        notification_cursor::Entity::update_many()
            .col_expr(notification_cursor::Column::EventId, sea_orm::sea_query::Expr::value(0i64))
            .exec(&f.db)
            .await
            .expect("rewind");
        notify::enqueue(&f.db, &cipher, f.now).await.expect("enqueue");
        assert_eq!(f.outbox().await.len(), 3);

        let sender = Flaky { fail: true.into(), sent: Default::default() };
        let report = notify::send_due(&f.db, &cipher, &sender, f.now).await.expect("send");
        assert_eq!((report.sent, report.failed), (0, 3));
        let outbox = f.outbox().await;
        for row in &outbox {
            assert_eq!(row.attempts, 1);
            assert_eq!(row.last_error.as_deref(), Some("gateway refused: quota exceeded"));
            assert_eq!(row.next_attempt_at, Some(f.now + chrono::Duration::seconds(30)));
        }
        // Not due yet: nothing is tried.
        let report = notify::send_due(&f.db, &cipher, &sender, f.now + chrono::Duration::seconds(29)).await;
        assert_eq!(report.expect("send"), notify::SendReport::default());
        let later = f.now + chrono::Duration::seconds(31);
        notify::send_due(&f.db, &cipher, &sender, later).await.expect("send");
        assert!(
            f.outbox()
                .await
                .iter()
                .all(|row| row.attempts == 2 && row.next_attempt_at == Some(later + chrono::Duration::seconds(60)))
        );
        sender.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        let report = notify::send_due(&f.db, &cipher, &sender, later + chrono::Duration::seconds(61)).await;
        assert_eq!(report.expect("send").sent, 3);
        let outbox = f.outbox().await;
        assert!(outbox.iter().all(|row| row.sent_at.is_some() && row.attempts == 3 && row.last_error.is_none()));
        let sent = sender.sent.lock().expect("lock").clone();
        let to_phone: Vec<_> = sent.iter().filter(|m| matches!(m.to, notify::Address::Phone { .. })).collect();
        assert_eq!(to_phone.len(), 2);
        assert!(
            to_phone
                .iter()
                .all(|m| m.to == notify::Address::Phone { client_id: client_id.clone(), phone: PHONE.into() })
        );
        // Sent is sent: another round finds nothing.
        let report = notify::send_due(&f.db, &cipher, &sender, later + chrono::Duration::hours(2)).await;
        assert_eq!(report.expect("send"), notify::SendReport::default());
        app.finish().await;
    }
}

#[tokio::test]
async fn two_replicas_sending_side_by_side_send_each_message_once() {
    for backend in backends() {
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_NOTIFICATION_POLL_MS", "600000")]).await;
        let f = Fixture::of(&app).await;
        let client_id = f.client(Some(PHONE), None, true).await;
        f.consent(&client_id).await;
        for _ in 0..5 {
            let (referral_id, _) = f.referral(&client_id, true).await;
            f.change(&referral_id, ReferralStatus::Accepted, &f.provider).await;
        }
        let cipher = cipher();
        notify::enqueue(&f.db, &cipher, f.now).await.expect("enqueue");
        assert_eq!(f.outbox().await.len(), 15);
        // Two connection pools, opened as two replicas open theirs.
        let replica = || qiao_server::db::connect_and_migrate(&app.database_url);
        let (one, two) = (replica().await.expect("connect"), replica().await.expect("connect"));
        let sender = Flaky { fail: false.into(), sent: Default::default() };
        let (a, b) = tokio::join!(
            notify::send_due(&one, &cipher, &sender, f.now),
            notify::send_due(&two, &cipher, &sender, f.now)
        );
        let (a, b) = (a.expect("send"), b.expect("send"));
        assert_eq!(a.sent + b.sent, 15, "{a:?} {b:?}");
        let mut sent: Vec<i64> = sender.sent.lock().expect("lock").iter().map(|m| m.outbox_id).collect();
        sent.sort_unstable();
        sent.dedup();
        assert_eq!(sent.len(), 15, "no message twice");
        assert!(f.outbox().await.iter().all(|row| row.sent_at.is_some() && row.attempts == 1));
        app.finish().await;
    }
}

#[tokio::test]
async fn a_message_whose_client_withdrew_consent_before_sending_is_dropped() {
    for backend in backends() {
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_NOTIFICATION_POLL_MS", "600000")]).await;
        let f = Fixture::of(&app).await;
        let client_id = f.client(Some(PHONE), None, true).await;
        let consent = f.consent(&client_id).await;
        f.referral(&client_id, true).await;
        let cipher = cipher();
        notify::enqueue(&f.db, &cipher, f.now).await.expect("enqueue");
        assert_eq!(f.outbox().await.len(), 1);
        f.withdraw(&consent).await;
        let sender = Flaky { fail: false.into(), sent: Default::default() };
        let report = notify::send_due(&f.db, &cipher, &sender, f.now).await.expect("send");
        assert_eq!((report.sent, report.dropped), (0, 1));
        assert!(sender.sent.lock().expect("lock").is_empty());
        let row = &f.outbox().await[0];
        assert!(row.sent_at.is_none() && row.attempts == notify::MAX_ATTEMPTS);
        app.finish().await;
    }
}

const CHANGES: &str = "query($cursor: String, $first: Int) { referralsChangedSince(cursor: $cursor, first: $first) { cursor hasMore changes { referralId code status live changedAt } } }";

async fn changes_as(app: &TestApp, token: &str, cursor: Option<&str>, first: Option<i32>) -> Value {
    let data = app.data_as(token, CHANGES, json!({ "cursor": cursor, "first": first })).await;
    data["referralsChangedSince"].clone()
}

fn ids(page: &Value) -> Vec<String> {
    page["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["referralId"].as_str().expect("id").to_owned())
        .collect()
}

/// A social worker of another organisation (made through the admin API): its token.
async fn other_worker(app: &TestApp) -> String {
    other_worker_account(app).await.1
}

/// A social worker of another organisation: its account id and token.
async fn other_worker_account(app: &TestApp) -> (String, String) {
    let admin = app.token_of("admin").await;
    let input = json!({ "username": "worker.elsewhere", "displayName": "别处社工 / Worker elsewhere",
                        "password": "a-long-password", "role": "SOCIAL_WORKER",
                        "organizationId": id("organization", "sh-tvillage-committee") });
    let created = app
        .data_as(
            &admin,
            "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    let account_id = created["createAccount"]["id"].as_str().expect("account id").to_owned();
    (account_id, app.login("worker.elsewhere", "a-long-password").await.0)
}

#[tokio::test]
async fn referrals_changed_since_pages_through_the_callers_own_referrals_and_moves_its_cursor() {
    for backend in backends() {
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_NOTIFICATION_POLL_MS", "600000")]).await;
        let f = Fixture::of(&app).await;
        let worker = app.token_of("worker.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let elsewhere = other_worker(&app).await;
        let start = changes_as(&app, &worker, None, None).await;
        let client_id = f.client(Some(PHONE), None, true).await;
        let (first_id, first_code) = f.referral(&client_id, true).await;
        let (second_id, _) = f.referral(&client_id, false).await;
        f.change(&first_id, ReferralStatus::Accepted, &f.provider).await;
        // Changes since the start: the second referral's news is older than the first's newest.
        let cursor = start["cursor"].as_str().expect("cursor");
        let page = changes_as(&app, &worker, Some(cursor), Some(1)).await;
        assert_eq!(ids(&page), vec![second_id.clone()]);
        assert_eq!(page["hasMore"], true);
        let next = changes_as(&app, &worker, page["cursor"].as_str(), Some(1)).await;
        assert_eq!(ids(&next), vec![first_id.clone()]);
        assert_eq!(next["changes"][0]["status"], "ACCEPTED");
        assert_eq!(next["changes"][0]["code"], first_code.as_str());
        assert_eq!(next["hasMore"], false);
        let quiet = changes_as(&app, &worker, next["cursor"].as_str(), None).await;
        assert!(ids(&quiet).is_empty());
        // The provider sees the same referrals (sent to it); a draft it does not.
        let provider_page = changes_as(&app, &provider, Some(cursor), None).await;
        assert_eq!(ids(&provider_page), vec![second_id.clone(), first_id.clone()]);
        let draft_client = f.client(None, None, false).await;
        let (draft_id, _) = f.referral(&draft_client, true).await;
        referral::Entity::update_many()
            .col_expr(
                referral::Column::Status,
                sea_orm::sea_query::Expr::value(ReferralStatus::Draft.to_value_string()),
            )
            .filter(referral::Column::Id.eq(&draft_id))
            .exec(&f.db)
            .await
            .expect("back to draft");
        let provider_next = changes_as(&app, &provider, provider_page["cursor"].as_str(), None).await;
        assert!(ids(&provider_next).is_empty(), "{provider_next}");
        assert_eq!(ids(&changes_as(&app, &worker, next["cursor"].as_str(), None).await), vec![draft_id]);
        // Another organisation's worker sees nothing, and a cursor from the past shows it nothing.
        assert!(ids(&changes_as(&app, &elsewhere, None, None).await).is_empty());
        // Reading a live referral's status is audited; the logged one is not.
        use sea_orm::PaginatorTrait;
        let audit_reads = |referral_id: String| {
            let db = f.db.clone();
            async move {
                qiao_schema::entity::audit_log::Entity::find()
                    .filter(qiao_schema::entity::audit_log::Column::RecordId.eq(referral_id))
                    .filter(qiao_schema::entity::audit_log::Column::Purpose.eq("referral changes"))
                    .count(&db)
                    .await
                    .expect("count")
            }
        };
        assert_eq!(audit_reads(first_id).await, 2, "read by the worker and by the provider");
        assert_eq!(audit_reads(second_id).await, 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn referrals_changed_since_refuses_other_roles_and_cursors_it_did_not_issue() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let committee = app.token_of("committee.tvillage").await;
        let migrant = app.token_of("migrant.demo").await;
        let admin = app.token_of("admin").await;
        for token in [&committee, &migrant, &admin] {
            let response = app.graphql_as(token, CHANGES, json!({})).await;
            assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
        }
        let response = app.graphql(CHANGES, json!({})).await;
        assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
        let worker = app.token_of("worker.tvillage").await;
        use base64::Engine;
        let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        for cursor in [encode("e1:999999999"), encode("e1:-1"), encode("n1:3"), "garbage".to_owned()] {
            let response = app.graphql_as(&worker, CHANGES, json!({ "cursor": cursor })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{cursor}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], "cursor");
        }
        let response = app.graphql_as(&worker, CHANGES, json!({ "first": 51 })).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
        app.finish().await;
    }
}

const STATUS_CHANGED: &str = "subscription($since: String) { referralStatusChanged(since: $since) { referralId code status previousStatus at cursor } }";

#[tokio::test]
async fn the_subscription_delivers_a_status_change_to_the_referrer_and_nothing_to_another_organisation() {
    for backend in backends() {
        let app = fast_server(backend, &[]).await;
        let f = Fixture::of(&app).await;
        let worker = app.token_of("worker.tvillage").await;
        let (elsewhere_id, elsewhere) = other_worker_account(&app).await;
        let client_id = f.client(None, None, false).await;
        let (referral_id, code) = f.referral(&client_id, true).await;
        let mut referrer = app.subscribe(&worker, STATUS_CHANGED, json!({})).await;
        let mut stranger = app.subscribe(&elsewhere, STATUS_CHANGED, json!({})).await;
        // Let both subscriptions take their starting point before the change.
        tokio::time::sleep(Duration::from_millis(300)).await;
        f.change(&referral_id, ReferralStatus::Accepted, &f.provider).await;
        let event = referrer.next_event(Duration::from_secs(10)).await;
        let Some(SocketEvent::Next(payload)) = event else { panic!("expected a change, got {event:?}") };
        assert!(payload.get("errors").is_none(), "{payload}");
        let change = &payload["data"]["referralStatusChanged"];
        assert_eq!(change["referralId"], referral_id.as_str());
        assert_eq!(change["code"], code.as_str());
        assert_eq!(
            (change["status"].as_str(), change["previousStatus"].as_str()),
            (Some("ACCEPTED"), Some("REQUESTED"))
        );
        assert_eq!(stranger.next_event(Duration::from_millis(800)).await, None, "another organisation hears nothing");
        // Resuming after a lost connection: from the change's cursor nothing is missed or repeated.
        referrer.close().await;
        let cursor = change["cursor"].as_str().expect("cursor").to_owned();
        // A disabled account's stream ends (checked before anything more is delivered).
        let admin = app.token_of("admin").await;
        app.data_as(
            &admin,
            "mutation($id: ID!) { setAccountDisabled(id: $id, disabled: true) { id } }",
            json!({ "id": elsewhere_id }),
        )
        .await;
        f.change(&referral_id, ReferralStatus::InProgress, &f.provider).await;
        assert_eq!(stranger.next_event(Duration::from_secs(10)).await, Some(SocketEvent::Complete));
        let mut resumed = app.subscribe(&worker, STATUS_CHANGED, json!({ "since": cursor })).await;
        let event = resumed.next_event(Duration::from_secs(10)).await;
        let Some(SocketEvent::Next(payload)) = event else { panic!("expected a change, got {event:?}") };
        assert_eq!(payload["data"]["referralStatusChanged"]["status"], "IN_PROGRESS");
        resumed.close().await;
        stranger.close().await;
        app.finish().await;
    }
}

#[tokio::test]
async fn a_subscription_needs_a_valid_token_and_a_role_that_follows_referrals() {
    for backend in backends() {
        let app = fast_server(backend, &[]).await;
        for payload in [json!({}), json!({ "authorization": "Bearer not-a-token" }), json!({ "authorization": 42 })] {
            let refused = app.open_socket(payload.clone()).await;
            assert!(
                matches!(refused, Err(SocketEvent::Closed(Some(_), _))),
                "{payload}: expected the socket to close, got {:?}",
                refused.as_ref().err()
            );
        }
        let committee = app.token_of("committee.tvillage").await;
        let mut subscription = app.subscribe(&committee, STATUS_CHANGED, json!({})).await;
        // Refused when it starts: one answer with the error, then nothing.
        let event = subscription.next_event(Duration::from_secs(5)).await;
        let Some(SocketEvent::Next(payload)) = event else { panic!("expected an error, got {event:?}") };
        assert_eq!(payload["data"], Value::Null);
        assert_eq!(payload["errors"][0]["extensions"]["code"], "FORBIDDEN", "{payload}");
        subscription.close().await;
        // Over HTTP a subscription is refused, not run.
        let worker = app.token_of("worker.tvillage").await;
        let response = app.graphql_as(&worker, STATUS_CHANGED, json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        app.finish().await;
    }
}

#[tokio::test]
async fn live_subscriptions_are_bounded_and_a_closed_socket_frees_its_place() {
    for backend in backends() {
        let app = fast_server(backend, &[("QIAO_MAX_SUBSCRIPTIONS", "1")]).await;
        let worker = app.token_of("worker.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let mut first = app.subscribe(&worker, STATUS_CHANGED, json!({})).await;
        assert_eq!(first.next_event(Duration::from_millis(300)).await, None, "the first one runs");
        let mut second = app.subscribe(&provider, STATUS_CHANGED, json!({})).await;
        let event = second.next_event(Duration::from_secs(5)).await;
        let Some(SocketEvent::Next(payload)) = event else { panic!("expected a refusal, got {event:?}") };
        assert_eq!(payload["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{payload}");
        second.close().await;
        first.close().await;
        // The server notices the closed socket and frees its place.
        let mut freed = false;
        for _ in 0..50 {
            let mut again = app.subscribe(&provider, STATUS_CHANGED, json!({})).await;
            match again.next_event(Duration::from_millis(200)).await {
                None => {
                    freed = true;
                    again.close().await;
                    break;
                }
                Some(_) => again.close().await,
            }
        }
        assert!(freed, "the closed subscription's place was never freed");
        app.finish().await;
    }
}
