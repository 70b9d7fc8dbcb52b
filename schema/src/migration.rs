//! Migrations. Append-only: once a migration has shipped it is never edited; a change is a new
//! migration. The same statements run on SQLite and PostgreSQL (sea-query renders each).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_directory::Migration),
            Box::new(m0002_accounts::Migration),
            Box::new(m0003_directory_changes::Migration),
            Box::new(m0004_referrals::Migration),
            Box::new(m0005_feed::Migration),
            Box::new(m0006_news_notifications::Migration),
            Box::new(m0007_unmet_needs::Migration),
            Box::new(m0008_database_identity::Migration),
            Box::new(m0009_build_covering_indexes::Migration),
        ]
    }
}

/// A foreign key from `table.column` to `target.id`; children go with their parent.
fn fk(table: &'static str, column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.to_owned()
}

/// A table with a text `id` primary key (UUIDs, as HSDS uses).
fn table(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).col(string("id").primary_key()).to_owned()
}

mod m0001_directory {
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0001_directory"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for statement in tables() {
                manager.create_table(statement).await?;
            }
            for statement in indexes() {
                manager.create_index(statement).await?;
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for statement in tables().iter().rev() {
                let name = statement.get_table_name().cloned();
                if let Some(name) = name {
                    manager.drop_table(Table::drop().table(name).to_owned()).await?;
                }
            }
            Ok(())
        }
    }

    fn tables() -> Vec<TableCreateStatement> {
        vec![
            table("taxonomy")
                .col(string("name"))
                .col(text("description"))
                .col(string_null("uri"))
                .col(string_null("version"))
                .to_owned(),
            table("taxonomy_term")
                .col(string("taxonomy_id"))
                .col(string("code"))
                .col(string_null("parent_id"))
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text("description_zh"))
                .col(text("description_en"))
                .col(string_null("icon"))
                .col(integer("ordinal"))
                .foreign_key(&mut fk("taxonomy_term", "taxonomy_id", "taxonomy"))
                .foreign_key(&mut fk("taxonomy_term", "parent_id", "taxonomy_term"))
                .to_owned(),
            table("urban_village")
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(string("city_zh"))
                .col(string("city_en"))
                .col(string("district_zh"))
                .col(string("district_en"))
                .col(string("adcode"))
                .col(text("boundary"))
                .col(double("centroid_lat"))
                .col(double("centroid_lon"))
                .col(integer_null("population"))
                .col(text_null("description_zh"))
                .col(text_null("description_en"))
                .to_owned(),
            table("organization")
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text("description_zh"))
                .col(text("description_en"))
                .col(string_null("website"))
                .col(string_null("email"))
                .col(string_null("legal_status"))
                .col(string_null("parent_organization_id"))
                .foreign_key(&mut fk("organization", "parent_organization_id", "organization"))
                .to_owned(),
            table("organization_identifier")
                .col(string("organization_id"))
                .col(string("identifier_scheme"))
                .col(string("identifier_type"))
                .col(string("identifier"))
                .foreign_key(&mut fk("organization_identifier", "organization_id", "organization"))
                .to_owned(),
            table("program")
                .col(string("organization_id"))
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text_null("description_zh"))
                .col(text_null("description_en"))
                .col(text("funders_zh"))
                .col(text("funders_en"))
                .col(string("delivery_mode"))
                .col(integer_null("since_year"))
                .foreign_key(&mut fk("program", "organization_id", "organization"))
                .to_owned(),
            table("service")
                .col(string("organization_id"))
                .col(string_null("program_id"))
                .col(string("category_term_id"))
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text("description_zh"))
                .col(text("description_en"))
                .col(string_null("url"))
                .col(string_null("email"))
                .col(string("status"))
                .col(text_null("application_process_zh"))
                .col(text_null("application_process_en"))
                .col(text_null("fees_description_zh"))
                .col(text_null("fees_description_en"))
                .col(text_null("eligibility_description_zh"))
                .col(text_null("eligibility_description_en"))
                .col(integer_null("minimum_age"))
                .col(integer_null("maximum_age"))
                .col(text_null("alert_zh"))
                .col(text_null("alert_en"))
                .col(date_null("assured_date"))
                .col(string_null("assurer"))
                .col(timestamp_with_time_zone("last_modified"))
                .foreign_key(&mut fk("service", "organization_id", "organization"))
                .foreign_key(&mut fk("service", "program_id", "program"))
                .foreign_key(&mut fk("service", "category_term_id", "taxonomy_term"))
                .to_owned(),
            table("location")
                .col(string("organization_id"))
                .col(string("location_type"))
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text_null("description_zh"))
                .col(text_null("description_en"))
                .col(text_null("transportation_zh"))
                .col(text_null("transportation_en"))
                .col(double_null("latitude"))
                .col(double_null("longitude"))
                .foreign_key(&mut fk("location", "organization_id", "organization"))
                .to_owned(),
            table("address")
                .col(string("location_id"))
                .col(string("address_1_zh"))
                .col(string("address_1_en"))
                .col(string("district_zh"))
                .col(string("district_en"))
                .col(string("city_zh"))
                .col(string("city_en"))
                .col(string("adcode"))
                .col(string_null("postal_code"))
                .col(string("country"))
                .col(string("address_type"))
                .foreign_key(&mut fk("address", "location_id", "location"))
                .to_owned(),
            table("accessibility")
                .col(string("location_id"))
                .col(text("description_zh"))
                .col(text("description_en"))
                .foreign_key(&mut fk("accessibility", "location_id", "location"))
                .to_owned(),
            table("service_at_location")
                .col(string("service_id"))
                .col(string("location_id"))
                .foreign_key(&mut fk("service_at_location", "service_id", "service"))
                .foreign_key(&mut fk("service_at_location", "location_id", "location"))
                .to_owned(),
            table("schedule")
                .col(string("service_id"))
                .col(string_null("service_at_location_id"))
                .col(string("byday"))
                .col(string("opens_at"))
                .col(string("closes_at"))
                .col(date_null("valid_from"))
                .col(date_null("valid_to"))
                .foreign_key(&mut fk("schedule", "service_id", "service"))
                .foreign_key(&mut fk("schedule", "service_at_location_id", "service_at_location"))
                .to_owned(),
            table("schedule_exception")
                .col(string("service_id"))
                .col(string_null("service_at_location_id"))
                .col(date("date"))
                .col(boolean("closed"))
                .col(string_null("opens_at"))
                .col(string_null("closes_at"))
                .col(string("reason_zh"))
                .col(string("reason_en"))
                .foreign_key(&mut fk("schedule_exception", "service_id", "service"))
                .foreign_key(&mut fk("schedule_exception", "service_at_location_id", "service_at_location"))
                .to_owned(),
            table("phone")
                .col(string_null("service_id"))
                .col(string_null("organization_id"))
                .col(string_null("location_id"))
                .col(string("number"))
                .col(string_null("extension"))
                .col(string("phone_type"))
                .col(text_null("description_zh"))
                .col(text_null("description_en"))
                .foreign_key(&mut fk("phone", "service_id", "service"))
                .foreign_key(&mut fk("phone", "organization_id", "organization"))
                .foreign_key(&mut fk("phone", "location_id", "location"))
                .to_owned(),
            table("contact")
                .col(string_null("service_id"))
                .col(string_null("organization_id"))
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(string_null("title_zh"))
                .col(string_null("title_en"))
                .col(string_null("phone"))
                .col(string_null("email"))
                .foreign_key(&mut fk("contact", "service_id", "service"))
                .foreign_key(&mut fk("contact", "organization_id", "organization"))
                .to_owned(),
            table("language")
                .col(string("service_id"))
                .col(string("code"))
                .foreign_key(&mut fk("language", "service_id", "service"))
                .to_owned(),
            table("cost_option")
                .col(string("service_id"))
                .col(string("option_zh"))
                .col(string("option_en"))
                .col(big_integer("amount_fen"))
                .col(string("currency"))
                .foreign_key(&mut fk("cost_option", "service_id", "service"))
                .to_owned(),
            table("required_document")
                .col(string("service_id"))
                .col(string("document_zh"))
                .col(string("document_en"))
                .foreign_key(&mut fk("required_document", "service_id", "service"))
                .to_owned(),
            table("eligibility_requirement")
                .col(string("service_id"))
                .col(string("kind"))
                .col(integer_null("months"))
                .col(integer_null("min_age"))
                .col(integer_null("max_age"))
                .foreign_key(&mut fk("eligibility_requirement", "service_id", "service"))
                .to_owned(),
            table("service_capacity")
                .col(string_uniq("service_id"))
                .col(string("status"))
                .col(date("as_of"))
                .col(text_null("note_zh"))
                .col(text_null("note_en"))
                .foreign_key(&mut fk("service_capacity", "service_id", "service"))
                .to_owned(),
            table("service_area")
                .col(string("service_id"))
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text("extent"))
                .col(string("extent_type"))
                .foreign_key(&mut fk("service_area", "service_id", "service"))
                .to_owned(),
            table("service_support")
                .col(string("service_id"))
                .col(string_null("support_function"))
                .col(string_null("intervention_level"))
                .foreign_key(&mut fk("service_support", "service_id", "service"))
                .to_owned(),
            table("attribute")
                .col(string("link_id"))
                .col(string("link_type"))
                .col(string("taxonomy_term_id"))
                .col(string_null("value"))
                .foreign_key(&mut fk("attribute", "taxonomy_term_id", "taxonomy_term"))
                .to_owned(),
            table("metadata")
                .col(string("resource_id"))
                .col(string("resource_type"))
                .col(timestamp_with_time_zone("last_action_date"))
                .col(string("last_action_type"))
                .col(string("field_name"))
                .col(text_null("previous_value"))
                .col(text_null("replacement_value"))
                .col(string("updated_by"))
                .to_owned(),
        ]
    }

    fn indexes() -> Vec<IndexCreateStatement> {
        let mut list = vec![
            index("taxonomy_term", &["taxonomy_id", "code"]).unique().to_owned(),
            index("taxonomy_term", &["parent_id"]),
            index("organization_identifier", &["organization_id"]),
            index("program", &["organization_id"]),
            index("service", &["organization_id"]),
            index("service", &["program_id"]),
            index("service", &["category_term_id"]),
            index("location", &["organization_id"]),
            index("address", &["location_id"]),
            index("accessibility", &["location_id"]),
            index("service_at_location", &["service_id", "location_id"]).unique().to_owned(),
            index("service_at_location", &["location_id"]),
            index("schedule", &["service_id"]),
            index("schedule", &["service_at_location_id"]),
            index("schedule_exception", &["service_id", "date"]),
            index("schedule_exception", &["service_at_location_id"]),
            index("attribute", &["link_id"]),
            index("attribute", &["taxonomy_term_id"]),
            index("metadata", &["resource_id", "last_action_date"]),
        ];
        for child in [
            "phone",
            "contact",
            "language",
            "cost_option",
            "required_document",
            "eligibility_requirement",
            "service_area",
            "service_support",
        ] {
            list.push(index(child, &["service_id"]));
        }
        list.push(index("phone", &["organization_id"]));
        list.push(index("phone", &["location_id"]));
        list.push(index("contact", &["organization_id"]));
        list
    }
}

mod m0002_accounts {
    //! Accounts, stewardship areas, refresh tokens, edit suggestions, idempotency keys; archiving
    //! of organisations and locations.
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0002_accounts"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for (name, column) in [("organization", "archived_at"), ("location", "archived_at")] {
                manager
                    .alter_table(
                        Table::alter().table(name).add_column(timestamp_with_time_zone_null(column)).to_owned(),
                    )
                    .await?;
            }
            for statement in tables() {
                manager.create_table(statement).await?;
            }
            for statement in [
                index("account", &["username"]).unique().to_owned(),
                index("account", &["phone_digest"]).unique().to_owned(),
                index("account", &["organization_id"]),
                index("stewardship_area_village", &["area_id"]),
                index("account_area", &["account_id"]),
                index("refresh_token", &["token_hash"]).unique().to_owned(),
                index("refresh_token", &["family_id"]),
                index("edit_suggestion", &["service_id", "status"]),
            ] {
                manager.create_index(statement).await?;
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for statement in tables().iter().rev() {
                if let Some(name) = statement.get_table_name().cloned() {
                    manager.drop_table(Table::drop().table(name).to_owned()).await?;
                }
            }
            for name in ["organization", "location"] {
                manager.alter_table(Table::alter().table(name).drop_column("archived_at").to_owned()).await?;
            }
            Ok(())
        }
    }

    fn tables() -> Vec<TableCreateStatement> {
        vec![
            table("account")
                .col(string_null("username"))
                .col(string_null("phone_digest"))
                .col(string("display_name"))
                .col(string("password_hash"))
                .col(string("role"))
                .col(string_null("organization_id"))
                .col(boolean("disabled"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("account", "organization_id", "organization"))
                .to_owned(),
            table("stewardship_area")
                .col(string("name_zh"))
                .col(string("name_en"))
                .col(text_null("boundary"))
                .to_owned(),
            table("stewardship_area_village")
                .col(string("area_id"))
                .col(string("urban_village_id"))
                .foreign_key(&mut fk("stewardship_area_village", "area_id", "stewardship_area"))
                .foreign_key(&mut fk("stewardship_area_village", "urban_village_id", "urban_village"))
                .to_owned(),
            table("account_area")
                .col(string("account_id"))
                .col(string("area_id"))
                .foreign_key(&mut fk("account_area", "account_id", "account"))
                .foreign_key(&mut fk("account_area", "area_id", "stewardship_area"))
                .to_owned(),
            table("refresh_token")
                .col(string("account_id"))
                .col(string("family_id"))
                .col(string("token_hash"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("rotated_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("refresh_token", "account_id", "account"))
                .to_owned(),
            table("edit_suggestion")
                .col(string("service_id"))
                .col(string("kind"))
                .col(text_null("proposed_value"))
                .col(text_null("comment"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .col(string_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_reason"))
                .foreign_key(&mut fk("edit_suggestion", "service_id", "service"))
                .to_owned(),
            table("idempotency_key").col(text("response")).col(timestamp_with_time_zone("created_at")).to_owned(),
        ]
    }
}

mod m0003_directory_changes {
    //! The directory's change records: one row per changed listing, written by the write kernel
    //! in the same transaction as the change; the search index catches up from them.
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0003_directory_changes"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("directory_change")
                        .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
                        .col(string("resource_type"))
                        .col(string("resource_id"))
                        .col(string("action"))
                        .col(timestamp_with_time_zone("changed_at"))
                        .to_owned(),
                )
                .await?;
            manager.create_index(index("directory_change", &["resource_id"])).await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager.drop_table(Table::drop().table("directory_change").to_owned()).await
        }
    }
}

mod m0004_referrals {
    //! Referrals (private): clients, consents, referrals and their events, the notification outbox
    //! and the hash-chained audit log; idempotency keys learn the payload they answered.
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0004_referrals"
        }
    }

    /// A table with an auto-increment 64-bit id (append-only logs: the id is a cursor).
    fn log_table(name: &'static str) -> TableCreateStatement {
        Table::create()
            .table(name)
            .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
            .to_owned()
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for table in tables() {
                manager.create_table(table).await?;
            }
            for index in indexes() {
                manager.create_index(index).await?;
            }
            manager
                .alter_table(Table::alter().table("idempotency_key").add_column(text_null("payload_digest")).to_owned())
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(Table::alter().table("idempotency_key").drop_column("payload_digest").to_owned())
                .await?;
            for name in
                ["audit_log", "notification_outbox", "referral_event", "referral", "consent", "client_link", "client"]
            {
                manager.drop_table(Table::drop().table(name).to_owned()).await?;
            }
            Ok(())
        }
    }

    fn tables() -> Vec<TableCreateStatement> {
        vec![
            table("client")
                .col(string("organization_id"))
                .col(string("created_by"))
                .col(text("display_name_sealed"))
                .col(text_null("phone_sealed"))
                .col(string_null("phone_digest"))
                .col(text_null("preferred_language_sealed"))
                .col(text_null("notes_sealed"))
                .col(string("sensitive_kinds"))
                .col(boolean("accepts_messages"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("erased_at"))
                .foreign_key(&mut fk("client", "organization_id", "organization"))
                .to_owned(),
            table("client_link")
                .col(string("client_id"))
                .col(string("related_client_id"))
                .col(string("relation"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("client_link", "client_id", "client"))
                .foreign_key(&mut fk("client_link", "related_client_id", "client"))
                .to_owned(),
            table("consent")
                .col(string("client_id"))
                .col(string("recipient_organization_id"))
                .col(string("data_scope"))
                .col(text("purpose_sealed"))
                .col(string("method"))
                .col(string("captured_by"))
                .col(timestamp_with_time_zone("captured_at"))
                .col(timestamp_with_time_zone_null("withdrawn_at"))
                .col(string_null("withdrawn_by"))
                .foreign_key(&mut fk("consent", "client_id", "client"))
                .foreign_key(&mut fk("consent", "recipient_organization_id", "organization"))
                .to_owned(),
            table("referral")
                .col(string_uniq("code"))
                .col(string("client_id"))
                .col(string("service_id"))
                .col(string_null("location_id"))
                .col(string("referring_account_id"))
                .col(string("referring_organization_id"))
                .col(string("target_organization_id"))
                .col(boolean("live"))
                .col(string("status"))
                .col(string("need_categories"))
                .col(text_null("needs_sealed"))
                .col(string("urgency"))
                .col(date_null("follow_up_on"))
                .col(string_null("reason_code"))
                .col(text_null("outcome_sealed"))
                .col(string_null("feedback"))
                .col(string_null("feedback_reason_code"))
                .col(timestamp_with_time_zone_null("feedback_at"))
                .col(string_null("forwarded_from_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .col(timestamp_with_time_zone_null("accepted_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(timestamp_with_time_zone_null("retain_until"))
                .col(timestamp_with_time_zone_null("purged_at"))
                .foreign_key(&mut fk("referral", "client_id", "client"))
                .foreign_key(&mut fk("referral", "service_id", "service"))
                .to_owned(),
            log_table("referral_event")
                .col(string("referral_id"))
                .col(string_null("status"))
                .col(string_null("previous_status"))
                .col(string_null("actor_account_id"))
                .col(string("actor_role"))
                .col(string_null("actor_organization_id"))
                .col(string_null("reason_code"))
                .col(text_null("note_sealed"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk("referral_event", "referral_id", "referral"))
                .to_owned(),
            log_table("notification_outbox")
                .col(string("referral_id"))
                .col(big_integer("event_id"))
                .col(string("recipient"))
                .col(string_null("account_id"))
                .col(string_null("client_id"))
                .col(string("language"))
                .col(string("template"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .col(integer("attempts"))
                .col(text_null("last_error"))
                .foreign_key(&mut fk("notification_outbox", "referral_id", "referral"))
                .to_owned(),
            // No foreign keys: the audit trail outlives what it speaks of (an erased client).
            log_table("audit_log")
                .col(big_integer_uniq("seq"))
                .col(timestamp_with_time_zone("at"))
                .col(string_null("account_id"))
                .col(string("role"))
                .col(string_null("organization_id"))
                .col(string("record_type"))
                .col(string("record_id"))
                .col(string("fields"))
                .col(string("action"))
                .col(string("purpose"))
                .col(boolean("allowed"))
                .col(string_null("request_id"))
                .col(string("prev_hash"))
                .col(string("hash"))
                .to_owned(),
        ]
    }

    fn indexes() -> Vec<IndexCreateStatement> {
        vec![
            index("client", &["organization_id", "phone_digest"]),
            index("client_link", &["client_id"]),
            index("consent", &["client_id", "recipient_organization_id"]),
            index("referral", &["referring_organization_id", "status"]),
            index("referral", &["target_organization_id", "status"]),
            index("referral", &["client_id"]),
            index("referral", &["retain_until"]),
            index("referral_event", &["referral_id"]),
            index("notification_outbox", &["sent_at"]),
            Index::create()
                .name("ux_notification_outbox_event_recipient")
                .table("notification_outbox")
                .col("event_id")
                .col("recipient")
                .unique()
                .to_owned(),
        ]
    }
}

mod m0006_news_notifications {
    //! The notification worker's state: where it has read the referral events up to (one row per
    //! cursor, locked while a batch is queued, so replicas take turns), and when an unsent message
    //! may next be tried (backoff after a failed attempt, or a lease while one replica sends it).
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0006_news_notifications"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    table("notification_cursor")
                        .col(big_integer("event_id"))
                        .col(timestamp_with_time_zone("updated_at"))
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table("notification_outbox")
                        .add_column(timestamp_with_time_zone_null("next_attempt_at"))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(Table::alter().table("notification_outbox").drop_column("next_attempt_at").to_owned())
                .await?;
            manager.drop_table(Table::drop().table("notification_cursor").to_owned()).await
        }
    }
}

mod m0005_feed {
    //! The change feed: each `directory_change` row names the one service it affects
    //! (`service_id`; none for a change of the whole directory), and on PostgreSQL the
    //! transaction that wrote it (`txid`), so that readers can tail in an order no late commit
    //! can slip behind (see `server/src/directory/feed.rs`).
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0005_feed"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One column per statement: SQLite alters one at a time.
            manager
                .alter_table(Table::alter().table("directory_change").add_column(string_null("service_id")).to_owned())
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table("directory_change")
                        .add_column(ColumnDef::new("txid").big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
            let db = manager.get_connection();
            // Older rows: a service's own row names it; anything else stays "the whole directory".
            db.execute_unprepared(
                "UPDATE directory_change SET service_id = resource_id WHERE resource_type = 'service'",
            )
            .await?;
            if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
                // Every row records its writer's transaction id, whoever inserts it.
                db.execute_unprepared(
                    "ALTER TABLE directory_change ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)",
                )
                .await?;
            }
            manager.create_index(index("directory_change", &["txid", "id"])).await?;
            manager.create_index(index("directory_change", &["service_id"])).await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for name in ["ix_directory_change_txid_id", "ix_directory_change_service_id"] {
                manager.drop_index(Index::drop().name(name).table("directory_change").to_owned()).await?;
            }
            for column in ["txid", "service_id"] {
                manager.alter_table(Table::alter().table("directory_change").drop_column(column).to_owned()).await?;
            }
            Ok(())
        }
    }
}

mod m0007_unmet_needs {
    //! Unmet needs as day-level counts: (urban village, category, reason, day) and how many
    //! searches found nothing. No point, no words, no time finer than the day (`evidence::unmet`).
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0007_unmet_needs"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    table("unmet_need_count")
                        .col(string("urban_village_id"))
                        .col(string("category_code"))
                        .col(string("reason"))
                        .col(date("day"))
                        .col(big_integer("count"))
                        .foreign_key(&mut fk("unmet_need_count", "urban_village_id", "urban_village"))
                        .to_owned(),
                )
                .await?;
            manager.create_index(index("unmet_need_count", &["urban_village_id", "day"])).await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager.drop_table(Table::drop().table("unmet_need_count").to_owned()).await
        }
    }
}

mod m0008_database_identity {
    //! One row naming this database, made at random when it is created: what a server's saved
    //! index build is tied to, so another database (or this one made anew) never serves it. A
    //! copy of the database (a restored backup) keeps the name, and the feed decides the rest.
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0008_database_identity"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager.create_table(table("database_identity")).await?;
            let insert = Query::insert()
                .into_table("database_identity")
                .columns(["id"])
                .values([uuid::Uuid::now_v7().to_string().into()])
                .map_err(|error| DbErr::Custom(error.to_string()))?
                .to_owned();
            manager.exec_stmt(insert).await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager.drop_table(Table::drop().table("database_identity").to_owned()).await
        }
    }
}

mod m0009_build_covering_indexes {
    //! Indexes that hold every column a full index build reads of the service table and of the
    //! tables with a row or so per service, in the order the build reads them (owner, then id).
    //!
    //! A full build reads the services in id order, a chunk at a time, and each child table's
    //! rows by service id range. Through an index on the owner alone every row found is then
    //! fetched from the table by rowid; with ids that are not in insertion order (an HSDS import
    //! keeps the ids it is given, and UUID v5 ids are random) each fetch lands on another page.
    //! At a million services that walk cost about a second of CPU per table against a tenth of
    //! that for the index alone, and was most of a first start (docs/BENCHMARKS.md). Each of
    //! these replaces the index on the owner alone, which it starts with.
    //!
    //! Left out on purpose: locations, addresses and organisations, which the build looks up by
    //! id in no useful order, so an index copy would spare only the second of two seeks per row
    //! for about 650 MB more at a million.
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0009_build_covering_indexes"
        }
    }

    /// (table, the index it replaces, the covering index's columns). Named by hand:
    /// PostgreSQL cuts names at 63 bytes.
    const COVERING: &[(&str, Option<&str>, &[&str])] = &[
        ("service", None, &["id", "status", "organization_id", "category_term_id", "name_zh", "name_en"]),
        ("service_at_location", None, &["service_id", "id", "location_id"]),
        ("language", Some("ix_language_service_id"), &["service_id", "id", "code"]),
        ("cost_option", Some("ix_cost_option_service_id"), &["service_id", "id", "amount_fen"]),
        (
            "eligibility_requirement",
            Some("ix_eligibility_requirement_service_id"),
            &["service_id", "id", "kind", "months", "min_age", "max_age"],
        ),
        (
            "schedule",
            Some("ix_schedule_service_id"),
            &["service_id", "id", "service_at_location_id", "byday", "opens_at", "closes_at", "valid_from", "valid_to"],
        ),
    ];

    fn covering_index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
        let mut statement = Index::create();
        statement.name(format!("ix_{table}_build")).table(table);
        for column in columns {
            statement.col(*column);
        }
        statement.to_owned()
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for (table, replaces, columns) in COVERING {
                manager.create_index(covering_index(table, columns)).await?;
                if let Some(replaced) = replaces {
                    manager.drop_index(Index::drop().name(*replaced).table(*table).to_owned()).await?;
                }
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for (table, replaces, _) in COVERING {
                // Each replaced index is `ix_{table}_service_id`, which `index` names it again.
                if replaces.is_some() {
                    manager.create_index(index(table, &["service_id"])).await?;
                }
                manager.drop_index(Index::drop().name(format!("ix_{table}_build")).table(*table).to_owned()).await?;
            }
            Ok(())
        }
    }
}
