//! Privacy by design (issue 8 items 11 and 12): no personal value in the database file or the
//! log in plain text, erasure that leaves nothing (not even the sealed values) in the SQLite file,
//! the hash-chained audit trail and `qiao verify-audit`, and retention.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use qiao_schema::domain::{ReferralStatus, Urgency};
use qiao_schema::entity::{audit_log, client, consent, referral, referral_event};
use qiao_server::clients::retention::{purge_expired, retain_until};
use qiao_server::clock::Clock;
use qiao_server::privacy::crypto::{DataCipher, Slot, parse_data_keys};
use qiao_tests::{Backend, TestApp, backends, error_code, on_every_database};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable, QueryFilter, QueryOrder,
};
use serde_json::json;

use crate::clients::{create_client, legal_aid_org};

fn cipher() -> DataCipher {
    DataCipher::new(parse_data_keys(&qiao_tests::test_data_keys()).expect("test keys"), vec![])
}

/// A referral of `client_id` to the legal aid centre written straight to the database (the
/// referral module's own paths are tested in `referrals.rs`), with sealed needs and an event with
/// a sealed note.
async fn insert_referral(
    db: &DatabaseConnection,
    client_id: &str,
    ended_at: Option<DateTime<Utc>>,
    retention: Duration,
    needs: &str,
    note: &str,
    now: DateTime<Utc>,
) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let cipher = cipher();
    referral::Entity::insert(referral::ActiveModel {
        id: Set(id.clone()),
        code: Set(format!("T{}", &uuid::Uuid::now_v7().simple().to_string()[20..])),
        client_id: Set(client_id.to_owned()),
        service_id: Set(qiao_seed::rows::derived_id("service", "sh-minhang-legal-aid")),
        location_id: Set(None),
        referring_account_id: Set(qiao_seed::rows::derived_id("account", "worker.tvillage")),
        referring_organization_id: Set(qiao_seed::rows::derived_id("organization", "sh-tvillage-social-work-station")),
        target_organization_id: Set(legal_aid_org()),
        live: Set(true),
        status: Set(if ended_at.is_some() { ReferralStatus::Completed } else { ReferralStatus::Requested }),
        need_categories: Set("LEGAL_AID".to_owned()),
        needs_sealed: Set(Some(cipher.seal(Slot { table: "referral", id: &id, field: "needs" }, needs).expect("seal"))),
        urgency: Set(Urgency::Routine),
        follow_up_on: Set(None),
        reason_code: Set(None),
        outcome_sealed: Set(None),
        feedback: Set(None),
        feedback_reason_code: Set(None),
        feedback_at: Set(None),
        forwarded_from_id: Set(None),
        created_at: Set(now),
        updated_at: Set(ended_at.unwrap_or(now)),
        sent_at: Set(Some(now)),
        accepted_at: Set(None),
        ended_at: Set(ended_at),
        retain_until: Set(ended_at.map(|ended| retain_until(ended, retention))),
        purged_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .expect("insert a referral");
    referral_event::Entity::insert(referral_event::ActiveModel {
        id: NotSet,
        referral_id: Set(id.clone()),
        status: Set(Some(ReferralStatus::Requested)),
        previous_status: Set(None),
        actor_account_id: Set(None),
        actor_role: Set("social_worker".to_owned()),
        actor_organization_id: Set(None),
        reason_code: Set(None),
        note_sealed: Set(Some(
            cipher.seal(Slot { table: "referral_event", id: &id, field: "note" }, note).expect("seal"),
        )),
        at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .expect("insert an event");
    id
}

/// What the server logs while a test runs, at DEBUG and above (more than production's INFO).
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter(self.0.clone())
    }
}

impl LogBuffer {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default()
    }
}

/// The SQLite database file and its WAL and shared-memory files, as bytes.
fn sqlite_bytes(app: &TestApp) -> Vec<u8> {
    let path = app.database_url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn the_sqlite_file_and_the_log_hold_no_name_or_phone_and_erasure_removes_even_the_sealed_values() {
    // The server runs on this test's thread (a current-thread runtime), so a thread-local
    // subscriber sees everything it logs.
    let log = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(log.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn(Backend::Sqlite).await;
    let worker = app.token_of("worker.tvillage").await;
    let (name, phone, notes, purpose, needs, note) = (
        "隐私测试人",
        "13700001234",
        "notes-secret-7f3a",
        "purpose-secret-91bc",
        "needs-secret-c0de",
        "note-secret-5eed",
    );
    let client_id = create_client(
        &app,
        &worker,
        json!({ "name": name, "phone": phone, "notes": notes, "language": "hak", "key": "privacy-key" }),
    )
    .await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let consent = app
        .data_as(
            &worker,
            "mutation($c: ID!, $o: ID!, $p: String!) { recordConsent(clientId: $c, recipientOrganizationId: $o, purpose: $p) { id } }",
            json!({ "c": client_id, "o": legal_aid_org(), "p": purpose }),
        )
        .await;
    assert!(consent["recordConsent"]["id"].is_string());
    let db = app.database().await;
    let now = app.clock.now();
    insert_referral(&db, &client_id, None, Duration::days(180), needs, note, now).await;
    // Reads and look-ups log nothing personal either.
    app.data_as(&worker, "query($id: ID!) { client(id: $id) { displayName phone notes } }", json!({ "id": client_id }))
        .await;
    app.data_as(&worker, "query($p: String!) { clients(phone: $p) { edges { node { id } } } }", json!({ "p": phone }))
        .await;

    let secrets = [name, phone, notes, purpose, needs, note, "演示客户", "13912345678"];
    let bytes = sqlite_bytes(&app);
    let logged = log.bytes();
    assert!(!logged.is_empty(), "the server logged nothing: the capture is broken");
    for secret in secrets {
        assert!(!contains(&bytes, secret), "the database file holds {secret:?} in plain text");
        assert!(!contains(&logged, secret), "the log holds {secret:?}");
    }

    // The sealed values as stored, before erasure.
    let row = client::Entity::find_by_id(client_id.clone()).one(&db).await.expect("read").expect("the client");
    let mut sealed = vec![row.display_name_sealed.clone()];
    sealed.extend(
        [row.phone_sealed.clone(), row.notes_sealed.clone(), row.preferred_language_sealed.clone()]
            .into_iter()
            .flatten(),
    );
    let consents =
        consent::Entity::find().filter(consent::Column::ClientId.eq(client_id.clone())).all(&db).await.expect("read");
    sealed.extend(consents.into_iter().map(|row| row.purpose_sealed));
    let referrals =
        referral::Entity::find().filter(referral::Column::ClientId.eq(client_id.clone())).all(&db).await.expect("read");
    for referral in &referrals {
        sealed.extend(referral.needs_sealed.clone());
        let events = referral_event::Entity::find()
            .filter(referral_event::Column::ReferralId.eq(referral.id.clone()))
            .all(&db)
            .await
            .expect("read");
        sealed.extend(events.into_iter().filter_map(|event| event.note_sealed));
    }
    assert_eq!(sealed.len(), 7, "{sealed:?}");
    db.close().await.ok();

    let admin = app.token_of("admin").await;
    let erased = app
        .data_as(&admin, "mutation($id: ID!) { eraseClient(clientId: $id) { erased } }", json!({ "id": client_id }))
        .await;
    assert_eq!(erased["eraseClient"]["erased"], true);

    let bytes = sqlite_bytes(&app);
    for value in &sealed {
        // The body of a sealed value is long random base64: finding it means the value is still there.
        let body = value.rsplit(':').next().unwrap_or_default();
        assert!(body.len() > 20 && !contains(&bytes, body), "a sealed value survived erasure in the file");
    }
    let logged = log.bytes();
    for secret in secrets {
        assert!(!contains(&bytes, secret), "the database file holds {secret:?} after erasure");
        assert!(!contains(&logged, secret), "the log holds {secret:?}");
    }
    let read = app
        .data_as(
            &worker,
            "query($id: ID!) { client(id: $id) { displayName phone notes erasedAt } }",
            json!({ "id": client_id }),
        )
        .await;
    assert!(read["client"]["displayName"].is_null() && read["client"]["phone"].is_null(), "{read}");
    assert!(read["client"]["erasedAt"].is_string(), "{read}");
    app.finish().await;
}

#[tokio::test]
async fn erasure_keeps_referral_statuses_but_no_personal_text_and_only_admins_erase() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = create_client(
            &app,
            &worker,
            json!({ "name": "要删除的人", "phone": "13300005555", "notes": "n" }),
        )
        .await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let db = app.database().await;
        let referral_id = insert_referral(
            &db,
            &client_id,
            Some(app.clock.now()),
            Duration::days(180),
            "needs",
            "note",
            app.clock.now(),
        )
        .await;
        const ERASE: &str = "mutation($id: ID!) { eraseClient(clientId: $id) { clientId erased } }";
        assert_eq!(error_code(&app.graphql_as(&worker, ERASE, json!({ "id": client_id })).await), Some("FORBIDDEN"));
        assert_eq!(error_code(&app.graphql(ERASE, json!({ "id": client_id })).await), Some("UNAUTHENTICATED"));
        let admin = app.token_of("admin").await;
        assert_eq!(error_code(&app.graphql_as(&admin, ERASE, json!({ "id": "nobody" })).await), Some("NOT_FOUND"));
        for _ in 0..2 {
            let erased = app.data_as(&admin, ERASE, json!({ "id": client_id })).await;
            assert_eq!(erased["eraseClient"], json!({ "clientId": client_id, "erased": true }));
        }
        let row = client::Entity::find_by_id(client_id.clone()).one(&db).await.expect("read").expect("kept, empty");
        assert_eq!(row.display_name_sealed, "");
        assert_eq!((row.phone_sealed, row.phone_digest, row.notes_sealed), (None, None, None));
        assert!(row.erased_at.is_some());
        let referral = referral::Entity::find_by_id(referral_id.clone()).one(&db).await.expect("read").expect("kept");
        assert_eq!(referral.status, ReferralStatus::Completed, "the status stays");
        assert_eq!(referral.needs_sealed, None);
        let notes: Vec<Option<String>> = referral_event::Entity::find()
            .filter(referral_event::Column::ReferralId.eq(referral_id))
            .all(&db)
            .await
            .expect("read")
            .into_iter()
            .map(|event| event.note_sealed)
            .collect();
        assert_eq!(notes, vec![None]);
        let erasures = audit_log::Entity::find()
            .filter(audit_log::Column::RecordId.eq(client_id.clone()))
            .filter(audit_log::Column::Action.eq("erase"))
            .all(&db)
            .await
            .expect("read");
        assert_eq!(erasures.len(), 1, "one erasure, one audit row");
        // The erased client no longer appears in lists, and its phone can be recorded anew.
        let listed = app
            .data_as(&worker, "query { clients(phone: \"13300005555\") { edges { node { id } } } }", json!({}))
            .await;
        assert_eq!(listed["clients"]["edges"], json!([]));
        db.close().await.ok();
    })
    .await;
}

/// The `qiao` binary next to the test binary (`target/<profile>/qiao`), if it was built.
/// The `qiao` binary of this workspace, built (once per test run) so that the command-line check
/// runs in a fresh checkout too: `cargo test` alone builds no binary of the server crate.
fn qiao_binary() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = std::process::Command::new(cargo)
                .args(["build", "--quiet", "-p", "qiao-server", "--bin", "qiao"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .ok()?;
            if !status.success() {
                return None;
            }
            let exe = std::env::current_exe().ok()?;
            let path = exe.parent()?.parent()?.join(format!("qiao{}", std::env::consts::EXE_SUFFIX));
            path.exists().then_some(path)
        })
        .clone()
}

/// Runs `qiao verify-audit` on the app's database: `Some((success, stderr))`, or `None` when the
/// binary is missing or too old to know the command.
fn run_verify_audit(app: &TestApp) -> Option<(bool, String)> {
    let output = std::process::Command::new(qiao_binary()?)
        .arg("verify-audit")
        .env("QIAO_DATABASE_URL", &app.database_url)
        .env("QIAO_SEED_DEMO", "false")
        .env("RUST_LOG", "error")
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if stderr.contains("usage:") {
        return None;
    }
    Some((output.status.success(), stderr))
}

#[tokio::test]
async fn audit_rows_record_reads_and_writes_and_verify_audit_names_a_changed_removed_or_swapped_row() {
    on_every_database(|app| async move {
        use qiao_server::privacy::audit::verify;
        let worker = app.token_of("worker.tvillage").await;
        let client_id = create_client(&app, &worker, json!({ "name": "审计客户", "phone": "13200006666" })).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        for _ in 0..2 {
            app.data_as(&worker, "query($id: ID!) { client(id: $id) { displayName } }", json!({ "id": client_id }))
                .await;
        }
        let db = app.database().await;
        let rows = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).all(&db).await.expect("read");
        let of_client: Vec<_> = rows.iter().filter(|row| row.record_id == client_id).collect();
        assert_eq!(of_client.iter().map(|row| row.action.as_str()).collect::<Vec<_>>(), ["create", "read", "read"]);
        let create = of_client[0];
        assert_eq!(create.fields, "display_name,phone");
        assert_eq!(create.role, "social_worker");
        assert!(create.request_id.as_deref().is_some_and(|id| !id.is_empty()));
        for row in &rows {
            let text = format!("{row:?}");
            assert!(!text.contains("审计客户") && !text.contains("13200006666"), "personal data in {text}");
        }
        assert!(rows.len() >= 3);
        assert_eq!(verify(&db).await.expect("verify").ok(), Some(rows.len() as u64));
        let binary = run_verify_audit(&app);
        if let Some((ok, stderr)) = &binary {
            assert!(ok, "verify-audit failed on an intact chain: {stderr}");
        } else {
            panic!("the qiao binary could not be built, so `qiao verify-audit` was not checked");
        }

        let broken_at =
            |verification: qiao_server::privacy::audit::Verification| verification.err().map(|broken| broken.id);
        let (a, b) = (rows[rows.len() - 3].clone(), rows[rows.len() - 2].clone());
        // Changed: a field of a row.
        let mut changed = a.clone().into_active_model();
        changed.purpose = Set("something else".to_owned());
        audit_log::Entity::update(changed).exec(&db).await.expect("tamper");
        assert_eq!(broken_at(verify(&db).await.expect("verify")), Some(a.id));
        if let Some((ok, stderr)) = run_verify_audit(&app) {
            assert!(!ok && stderr.contains(&format!("id {}", a.id)), "{stderr}");
        }
        audit_log::Entity::update(reset_all(a.clone().into_active_model())).exec(&db).await.expect("restore");
        assert!(verify(&db).await.expect("verify").is_ok());

        // Removed: the next row is named.
        audit_log::Entity::delete_by_id(a.id).exec(&db).await.expect("delete");
        assert_eq!(broken_at(verify(&db).await.expect("verify")), Some(b.id));
        if let Some((ok, stderr)) = run_verify_audit(&app) {
            assert!(!ok && stderr.contains(&format!("id {}", b.id)), "{stderr}");
        }
        audit_log::Entity::insert(reset_all(a.clone().into_active_model()))
            .exec_without_returning(&db)
            .await
            .expect("put back");
        assert!(verify(&db).await.expect("verify").is_ok());

        // Swapped: two rows exchange their places.
        let swap = |row: &audit_log::Model, place: &audit_log::Model| audit_log::Model { id: place.id, ..row.clone() };
        let temporary = audit_log::Model { id: -1, seq: -1, ..a.clone() };
        audit_log::Entity::delete_by_id(a.id).exec(&db).await.expect("move a away");
        audit_log::Entity::insert(reset_all(temporary.clone().into_active_model()))
            .exec_without_returning(&db)
            .await
            .expect("park");
        audit_log::Entity::delete_by_id(b.id).exec(&db).await.expect("move b");
        audit_log::Entity::insert(reset_all(swap(&b, &a).into_active_model()))
            .exec_without_returning(&db)
            .await
            .expect("b at a");
        audit_log::Entity::delete_by_id(-1).exec(&db).await.expect("unpark");
        audit_log::Entity::insert(reset_all(swap(&a, &b).into_active_model()))
            .exec_without_returning(&db)
            .await
            .expect("a at b");
        assert_eq!(broken_at(verify(&db).await.expect("verify")), Some(a.id));
        if let Some((ok, stderr)) = run_verify_audit(&app) {
            assert!(!ok && stderr.contains(&format!("id {}", a.id)), "{stderr}");
        }
        db.close().await.ok();
    })
    .await;
}

/// Every column of a model as `Set`, so an insert writes them all (the id too).
fn reset_all(model: audit_log::ActiveModel) -> audit_log::ActiveModel {
    use sea_orm::ActiveModelTrait;
    let mut model = model;
    for column in <audit_log::Entity as EntityTrait>::Column::iter() {
        if let Some(value) = model.get(column).into_value() {
            model.set(column, value);
        }
    }
    model
}

#[tokio::test]
async fn purge_expired_strips_referrals_past_retention_and_erases_idle_clients_only() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let retention = Duration::days(180);
        let start = app.clock.now();
        let idle = create_client(&app, &worker, json!({ "name": "闲置客户", "phone": "13100007777" })).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let followed = create_client(&app, &worker, json!({ "name": "跟进客户", "phone": "13100008888" })).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let db = app.database().await;
        let ended = start + Duration::days(100);
        let referral_id = insert_referral(&db, &followed, Some(ended), retention, "needs", "note", start).await;

        // Day 200: the idle client is past retention; the referral (ended on day 100) is not.
        let report = purge_expired(&db, start + Duration::days(200), retention).await.expect("purge");
        assert!(report.clients >= 1 && report.referrals == 0, "{report:?}");
        let erased = |id: String| {
            let db = db.clone();
            async move { client::Entity::find_by_id(id).one(&db).await.expect("read").expect("kept").erased_at.is_some() }
        };
        assert!(erased(idle.clone()).await);
        assert!(!erased(followed.clone()).await);
        let referral = referral::Entity::find_by_id(referral_id.clone()).one(&db).await.expect("read").expect("kept");
        assert!(referral.needs_sealed.is_some() && referral.purged_at.is_none());

        // Day 300: past the referral's retain_until (day 280): its texts go, then its client.
        let report = purge_expired(&db, start + Duration::days(300), retention).await.expect("purge");
        assert_eq!(report.referrals, 1, "{report:?}");
        let referral = referral::Entity::find_by_id(referral_id).one(&db).await.expect("read").expect("kept");
        assert_eq!(referral.needs_sealed, None);
        assert_eq!(referral.status, ReferralStatus::Completed);
        assert!(referral.purged_at.is_some());
        assert!(erased(followed).await);
        let purges = audit_log::Entity::find().filter(audit_log::Column::Action.eq("purge")).all(&db).await.expect("read");
        assert_eq!(purges.len(), 1);
        assert_eq!(purges[0].role, "system");
        assert!(qiao_server::privacy::audit::verify(&db).await.expect("verify").is_ok());
        // Nothing left to do: a second run changes nothing.
        let again = purge_expired(&db, start + Duration::days(300), retention).await.expect("purge");
        assert_eq!((again.referrals, again.clients), (0, 0));
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn referral_retention_is_configurable() {
    for backend in backends() {
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_REFERRAL_RETENTION_DAYS", "30")]).await;
        // The server starts with it; a bad value is refused at start.
        assert!(app.http().get(app.url("/healthz")).send().await.is_ok_and(|r| r.status().is_success()));
        app.finish().await;
    }
    let bad = qiao_server::config::Config::from_lookup(|name| {
        (name == "QIAO_REFERRAL_RETENTION_DAYS").then(|| "0".to_owned())
    });
    assert!(bad.is_err());
    let default = qiao_server::config::Config::from_lookup(|_| None).expect("defaults");
    assert_eq!(default.referral_retention_days, 180);
}
