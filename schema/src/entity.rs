//! sea-orm entities for the directory (an Open Referral HSDS 3.0 profile plus local extensions).
//!
//! Conventions: ids are UUID strings (HSDS uses UUIDs; text keeps SQLite and PostgreSQL alike);
//! bilingual text is a `_zh` / `_en` column pair; coordinates are WGS-84 degrees; polygons are
//! GeoJSON text. Relations are resolved by the callers with `is_in` queries rather than declared
//! here, which keeps each entity a plain row type.

/// Declares one entity module body: a `Model` row with the given fields, no declared relations.
macro_rules! entity {
    ($table:literal { $($fields:tt)* }) => {
        use sea_orm::entity::prelude::*;
        #[allow(unused_imports)]
        use crate::domain::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
        #[sea_orm(table_name = $table)]
        pub struct Model { $($fields)* }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod taxonomy {
    entity!("taxonomy" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub description: String,
        pub uri: Option<String>,
        pub version: Option<String>,
    });
}

pub mod taxonomy_term {
    entity!("taxonomy_term" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub taxonomy_id: String,
        /// Stable code, e.g. `LEGAL_AID`.
        pub code: String,
        pub parent_id: Option<String>,
        pub name_zh: String,
        pub name_en: String,
        pub description_zh: String,
        pub description_en: String,
        pub icon: Option<String>,
        /// Display order among siblings.
        pub ordinal: i32,
    });
}

pub mod urban_village {
    entity!("urban_village" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name_zh: String,
        pub name_en: String,
        pub city_zh: String,
        pub city_en: String,
        pub district_zh: String,
        pub district_en: String,
        pub adcode: String,
        /// GeoJSON Polygon, WGS-84.
        pub boundary: String,
        pub centroid_lat: f64,
        pub centroid_lon: f64,
        pub population: Option<i32>,
        pub description_zh: Option<String>,
        pub description_en: Option<String>,
    });
}

pub mod organization {
    entity!("organization" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name_zh: String,
        pub name_en: String,
        pub description_zh: String,
        pub description_en: String,
        pub website: Option<String>,
        pub email: Option<String>,
        pub legal_status: Option<String>,
        pub parent_organization_id: Option<String>,
        /// Archived organisations and their services vanish from the public directory.
        pub archived_at: Option<DateTimeUtc>,
    });
}

pub mod organization_identifier {
    entity!("organization_identifier" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        /// e.g. `CN-USCC` for the unified social credit code.
        pub identifier_scheme: String,
        pub identifier_type: String,
        pub identifier: String,
    });
}

pub mod program {
    entity!("program" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub name_zh: String,
        pub name_en: String,
        pub description_zh: Option<String>,
        pub description_en: Option<String>,
        pub funders_zh: String,
        pub funders_en: String,
        pub delivery_mode: DeliveryMode,
        pub since_year: Option<i32>,
    });
}

pub mod service {
    entity!("service" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub program_id: Option<String>,
        /// Primary category (a `taxonomy_term` of the service-category taxonomy); further
        /// categories are `attribute` rows.
        pub category_term_id: String,
        pub name_zh: String,
        pub name_en: String,
        pub description_zh: String,
        pub description_en: String,
        pub url: Option<String>,
        pub email: Option<String>,
        pub status: ServiceStatus,
        pub application_process_zh: Option<String>,
        pub application_process_en: Option<String>,
        pub fees_description_zh: Option<String>,
        pub fees_description_en: Option<String>,
        pub eligibility_description_zh: Option<String>,
        pub eligibility_description_en: Option<String>,
        pub minimum_age: Option<i32>,
        pub maximum_age: Option<i32>,
        pub alert_zh: Option<String>,
        pub alert_en: Option<String>,
        /// Last verified (HSDS `assured_date`) and by whom.
        pub assured_date: Option<Date>,
        pub assurer: Option<String>,
        pub last_modified: DateTimeUtc,
    });
}

pub mod location {
    entity!("location" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub location_type: LocationType,
        pub name_zh: String,
        pub name_en: String,
        pub description_zh: Option<String>,
        pub description_en: Option<String>,
        pub transportation_zh: Option<String>,
        pub transportation_en: Option<String>,
        /// WGS-84 degrees.
        pub latitude: Option<f64>,
        pub longitude: Option<f64>,
        /// Archived locations vanish from the public directory.
        pub archived_at: Option<DateTimeUtc>,
    });
}

pub mod address {
    entity!("address" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub location_id: String,
        pub address_1_zh: String,
        pub address_1_en: String,
        pub district_zh: String,
        pub district_en: String,
        pub city_zh: String,
        pub city_en: String,
        pub adcode: String,
        pub postal_code: Option<String>,
        pub country: String,
        /// HSDS address type: physical / postal / virtual.
        pub address_type: String,
    });
}

pub mod accessibility {
    entity!("accessibility" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub location_id: String,
        pub description_zh: String,
        pub description_en: String,
    });
}

pub mod service_at_location {
    entity!("service_at_location" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub location_id: String,
    });
}

pub mod schedule {
    entity!("schedule" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Hours of the whole service, used where a service-at-location has none of its own.
        pub service_id: String,
        pub service_at_location_id: Option<String>,
        /// Weekly recurrence (HSDS `freq = WEEKLY`): iCal weekday codes, comma separated.
        pub byday: String,
        /// Local time (Asia/Shanghai), "HH:MM".
        pub opens_at: String,
        pub closes_at: String,
        pub valid_from: Option<Date>,
        pub valid_to: Option<Date>,
    });
}

pub mod schedule_exception {
    entity!("schedule_exception" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub service_at_location_id: Option<String>,
        pub date: Date,
        /// Closed all day; otherwise open `opens_at`–`closes_at` instead of the weekly hours.
        pub closed: bool,
        pub opens_at: Option<String>,
        pub closes_at: Option<String>,
        pub reason_zh: String,
        pub reason_en: String,
    });
}

pub mod phone {
    entity!("phone" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: Option<String>,
        pub organization_id: Option<String>,
        pub location_id: Option<String>,
        pub number: String,
        pub extension: Option<String>,
        /// voice / hotline / fax / text.
        pub phone_type: String,
        pub description_zh: Option<String>,
        pub description_en: Option<String>,
    });
}

pub mod contact {
    entity!("contact" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: Option<String>,
        pub organization_id: Option<String>,
        pub name_zh: String,
        pub name_en: String,
        pub title_zh: Option<String>,
        pub title_en: Option<String>,
        pub phone: Option<String>,
        pub email: Option<String>,
    });
}

pub mod language {
    entity!("language" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        /// BCP-47 code: zh, en, yue, wuu, …
        pub code: String,
    });
}

pub mod cost_option {
    entity!("cost_option" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub option_zh: String,
        pub option_en: String,
        /// Amount in fen (1/100 yuan), so money never goes through floating point.
        pub amount_fen: i64,
        pub currency: String,
    });
}

pub mod required_document {
    entity!("required_document" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub document_zh: String,
        pub document_en: String,
    });
}

pub mod eligibility_requirement {
    entity!("eligibility_requirement" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub kind: EligibilityKind,
        pub months: Option<i32>,
        pub min_age: Option<i32>,
        pub max_age: Option<i32>,
    });
}

pub mod service_capacity {
    entity!("service_capacity" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        #[sea_orm(unique)]
        pub service_id: String,
        pub status: CapacityStatus,
        pub as_of: Date,
        pub note_zh: Option<String>,
        pub note_en: Option<String>,
    });
}

pub mod service_area {
    entity!("service_area" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub name_zh: String,
        pub name_en: String,
        /// GeoJSON Polygon, WGS-84.
        pub extent: String,
        pub extent_type: String,
    });
}

pub mod service_support {
    entity!("service_support" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        /// Exactly one of the two is set per row.
        pub support_function: Option<SupportFunction>,
        pub intervention_level: Option<InterventionLevel>,
    });
}

pub mod attribute {
    entity!("attribute" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The tagged entity's id and table (HSDS `link_id` / `link_type`).
        pub link_id: String,
        pub link_type: String,
        pub taxonomy_term_id: String,
        pub value: Option<String>,
    });
}

pub mod metadata {
    entity!("metadata" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub resource_id: String,
        pub resource_type: String,
        pub last_action_date: DateTimeUtc,
        /// create / update / delete / verify.
        pub last_action_type: String,
        pub field_name: String,
        pub previous_value: Option<String>,
        pub replacement_value: Option<String>,
        pub updated_by: String,
    });
}

pub mod account {
    entity!("account" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Lowercase login name; staff always have one, a migrant may use a phone instead.
        #[sea_orm(unique)]
        pub username: Option<String>,
        /// Keyed hash (HMAC-SHA-256) of the normalised phone number a migrant signs in with;
        /// the number itself is never stored.
        #[sea_orm(unique)]
        pub phone_digest: Option<String>,
        pub display_name: String,
        /// Argon2id PHC string.
        pub password_hash: String,
        pub role: Role,
        /// Social workers' and provider staff's organisation.
        pub organization_id: Option<String>,
        pub disabled: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    });
}

pub mod stewardship_area {
    entity!("stewardship_area" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name_zh: String,
        pub name_en: String,
        /// Optional GeoJSON Polygon (WGS-84) covered besides the listed urban villages.
        pub boundary: Option<String>,
    });
}

pub mod stewardship_area_village {
    entity!("stewardship_area_village" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub area_id: String,
        pub urban_village_id: String,
    });
}

pub mod account_area {
    entity!("account_area" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub account_id: String,
        pub area_id: String,
    });
}

pub mod refresh_token {
    entity!("refresh_token" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub account_id: String,
        /// Every token rotated from one sign-in shares a family; reuse revokes the family.
        pub family_id: String,
        /// SHA-256 of the opaque token (the token itself is never stored).
        #[sea_orm(unique)]
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// Set when the token was exchanged for a new one.
        pub rotated_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    });
}

pub mod edit_suggestion {
    entity!("edit_suggestion" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub service_id: String,
        pub kind: SuggestionKind,
        /// The corrected value, when the kind takes one (a phone number, an address).
        pub proposed_value: Option<String>,
        pub comment: Option<String>,
        pub status: SuggestionStatus,
        pub created_at: DateTimeUtc,
        pub decided_by: Option<String>,
        pub decided_at: Option<DateTimeUtc>,
        pub decision_reason: Option<String>,
    });
}

pub mod idempotency_key {
    entity!("idempotency_key" {
        /// Operation, sender scope and the client's key, e.g. `suggestEdit:anonymous:3f2a…` or
        /// `suggestEdit:account:<keyed digest>:3f2a…`. Deleted 24 hours after `created_at`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The first result, replayed to a retry.
        pub response: String,
        pub created_at: DateTimeUtc,
        /// SHA-256 of the request's payload, so the same key with another payload is a conflict
        /// (added by m0004; older rows have none).
        pub payload_digest: Option<String>,
    });
}

pub mod directory_change {
    entity!("directory_change" {
        /// Increases with every change (on PostgreSQL not necessarily in commit order: the feed
        /// is read in `(txid, id)` order below the oldest running writer, see the server's
        /// `directory::feed`). Also the feed's cursor.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// What was changed: `organization`, `location`, `service`, …, or `directory` (a whole
        /// import).
        pub resource_type: String,
        pub resource_id: String,
        /// create / update / verify / archive / import.
        pub action: String,
        pub changed_at: DateTimeUtc,
        /// The service whose listing the change affects (a change of an organisation or a
        /// location writes one row per service there); none: the whole directory may have changed.
        pub service_id: Option<String>,
        /// PostgreSQL: the writing transaction's id (set by the database); 0 on SQLite, where
        /// writers commit one at a time in id order.
        #[sea_orm(default_value = 0)]
        pub txid: i64,
    });
}

// ---------------------------------------------------------------------------------------------
// Referrals (private). Personal values are sealed (AEAD) by the server before they reach a row:
// a `*_sealed` column holds `v1:<key id>:<base64 nonce+ciphertext>`, bound to its row and field,
// so a value copied to another row or column does not open. Nothing here is ever logged.
// ---------------------------------------------------------------------------------------------

pub mod client {
    entity!("client" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The social worker's organisation the client belongs to.
        pub organization_id: String,
        /// The account that recorded the client.
        pub created_by: String,
        /// Display name or alias (sealed).
        pub display_name_sealed: String,
        /// Phone number (sealed), when given.
        pub phone_sealed: Option<String>,
        /// Keyed digest (HMAC) of the normalised phone, so a worker finds a client by phone
        /// without decrypting the table.
        pub phone_digest: Option<String>,
        /// Preferred language or dialect as a BCP 47 tag, e.g. `zh-CN`, `yue`, `hmn` (sealed).
        pub preferred_language_sealed: Option<String>,
        /// Case notes (sealed).
        pub notes_sealed: Option<String>,
        /// Comma-separated sensitive kinds the notes touch (`health`, `identity_status`, `legal`,
        /// `child_under_14`): which kinds, never the content.
        pub sensitive_kinds: String,
        /// Whether the client agreed to receive content-free status messages by phone.
        pub accepts_messages: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// Set when the client was erased on request or purged: every sealed value is gone.
        pub erased_at: Option<DateTimeUtc>,
    });
}

pub mod client_link {
    entity!("client_link" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// E.g. the child.
        pub client_id: String,
        /// E.g. the parent whose documents a school place depends on.
        pub related_client_id: String,
        /// `child_of`, `spouse_of`, `guardian_of`, `relative_of`.
        pub relation: String,
        pub created_at: DateTimeUtc,
    });
}

pub mod consent {
    entity!("consent" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        /// The organisation that may receive the data.
        pub recipient_organization_id: String,
        /// Comma-separated client fields covered: `display_name`, `phone`, `preferred_language`,
        /// `notes`.
        pub data_scope: String,
        /// What the data is for (sealed: a worker may type personal details into it).
        pub purpose_sealed: String,
        pub method: ConsentMethod,
        /// The account that captured it.
        pub captured_by: String,
        pub captured_at: DateTimeUtc,
        pub withdrawn_at: Option<DateTimeUtc>,
        pub withdrawn_by: Option<String>,
    });
}

pub mod referral {
    entity!("referral" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Short public code (unguessable; look-ups are rate limited).
        #[sea_orm(unique)]
        pub code: String,
        pub client_id: String,
        pub service_id: String,
        pub location_id: Option<String>,
        pub referring_account_id: String,
        pub referring_organization_id: String,
        /// The target service's organisation when the referral was made (scopes the inbox).
        pub target_organization_id: String,
        /// A live referral shares consented client data with the provider; a logged one shares
        /// nothing about the person.
        pub live: bool,
        pub status: ReferralStatus,
        /// Comma-separated category codes of the needs.
        pub need_categories: String,
        /// Free-text needs (sealed).
        pub needs_sealed: Option<String>,
        pub urgency: Urgency,
        pub follow_up_on: Option<Date>,
        /// Structured reason of the last status that takes one (aggregated in reports).
        pub reason_code: Option<String>,
        /// The provider's outcome note (sealed).
        pub outcome_sealed: Option<String>,
        /// The person's own feedback by code: `got_help` or `could_not`.
        pub feedback: Option<String>,
        pub feedback_reason_code: Option<String>,
        pub feedback_at: Option<DateTimeUtc>,
        /// The referral this one was forwarded from ("referred elsewhere").
        pub forwarded_from_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
        pub accepted_at: Option<DateTimeUtc>,
        pub ended_at: Option<DateTimeUtc>,
        /// When the personal data of an ended referral is purged.
        pub retain_until: Option<DateTimeUtc>,
        pub purged_at: Option<DateTimeUtc>,
    });
}

pub mod referral_event {
    entity!("referral_event" {
        /// Increases with every event; the cursor of `referralsChangedSince`.
        #[sea_orm(primary_key)]
        pub id: i64,
        pub referral_id: String,
        /// The status after the event (`None` for a note).
        pub status: Option<ReferralStatus>,
        pub previous_status: Option<ReferralStatus>,
        /// `None` when the person acted with the public code (feedback).
        pub actor_account_id: Option<String>,
        pub actor_role: String,
        pub actor_organization_id: Option<String>,
        pub reason_code: Option<String>,
        /// Reason or note text (sealed).
        pub note_sealed: Option<String>,
        pub at: DateTimeUtc,
    });
}

pub mod notification_outbox {
    entity!("notification_outbox" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub referral_id: String,
        /// The referral event the message tells of (the outbox worker's cursor).
        pub event_id: i64,
        pub recipient: NotificationRecipient,
        /// The social worker's account, when the recipient is one.
        pub account_id: Option<String>,
        /// The client, when the recipient is one (the phone is unsealed only when sending).
        pub client_id: Option<String>,
        /// BCP 47 tag of the message's language.
        pub language: String,
        /// Message template key; messages carry no personal or sensitive content.
        pub template: String,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
        pub attempts: i32,
        pub last_error: Option<String>,
        /// Not tried again before this instant: the backoff after a failed attempt, or the lease
        /// of the replica sending it now (added by m0006).
        pub next_attempt_at: Option<DateTimeUtc>,
    });
}

pub mod notification_cursor {
    entity!("notification_cursor" {
        /// The cursor's name (`outbox`: the referral events already turned into outbox rows).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The last referral event read.
        pub event_id: i64,
        pub updated_at: DateTimeUtc,
    });
}

pub mod audit_log {
    entity!("audit_log" {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Position in the hash chain (1, 2, …): a removed row leaves a gap.
        pub seq: i64,
        pub at: DateTimeUtc,
        pub account_id: Option<String>,
        pub role: String,
        pub organization_id: Option<String>,
        /// `client`, `referral`, `consent`.
        pub record_type: String,
        pub record_id: String,
        /// Comma-separated field names touched (never values).
        pub fields: String,
        /// `read`, `create`, `update`, `erase`, `purge`, ….
        pub action: String,
        pub purpose: String,
        pub allowed: bool,
        pub request_id: Option<String>,
        /// Hex SHA-256 of the previous row's hash and this row's content.
        pub prev_hash: String,
        pub hash: String,
    });
}

pub mod database_identity {
    entity!("database_identity" {
        /// A random UUID given to the database when it was created (one row).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
    });
}

pub mod unmet_need_count {
    entity!("unmet_need_count" {
        /// Derived from the other columns (`ids::derived_id("unmet_need", …)`), so a flush adds to
        /// the day's row with one upsert.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub urban_village_id: String,
        /// A `ServiceCategory` code, or `ANY` for searches that named no category.
        pub category_code: String,
        /// `nothing_found`, `none_open` or `none_without_local_hukou`.
        pub reason: String,
        /// The day in China Standard Time; nothing finer is kept.
        pub day: Date,
        pub count: i64,
    });
}
