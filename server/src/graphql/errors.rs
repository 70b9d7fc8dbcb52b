//! How the API's errors reach a GraphQL client: a stable `extensions.code`, and for bad input
//! the argument at fault in `extensions.field`. Domain errors name domain fields
//! ([`Field`]); this is the one place that spells them as argument paths.

use async_graphql::ErrorExtensions as _;

use crate::error::{ApiError, error_chain};
use crate::values::Field;

/// The argument path a domain field arrives in. Paths are those of the mutations that take the
/// field (`input` for the record's own fields); the path of a field that reaches the domain by
/// more than one argument (a location's, in `createOrganization` and `createLocation`) is that
/// of the mutation made for it.
pub fn argument_path(field: Field) -> &'static str {
    match field {
        Field::OrganizationName | Field::ServiceName => "name",
        Field::OrganizationDescription | Field::ServiceDescription => "description",
        Field::OrganizationWebsite => "input.website",
        Field::OrganizationEmail => "input.email",
        Field::LocationName => "input.name",
        Field::LocationPoint => "input.point",
        Field::LocationStreet => "input.street",
        Field::LocationDistrict => "input.district",
        Field::LocationCity => "input.city",
        Field::LocationAdcode => "input.adcode",
        Field::LocationTransportation => "input.transportation",
        Field::ServiceCategory => "category",
        Field::ServiceLocations => "locationIds",
        Field::ServiceLanguages | Field::SearchLanguages => "languages",
        Field::ServiceCosts => "costs",
        Field::CostOption => "costs.option",
        Field::CostAmount => "costs.amountYuan",
        Field::ServiceDocuments => "documents",
        Field::ServiceFeesDescription => "feesDescription",
        Field::ServiceApplicationProcess => "applicationProcess",
        Field::ServiceEligibilityDescription => "eligibilityDescription",
        Field::ServiceRequirements => "requirements",
        Field::ServiceCapacityNote => "note",
        Field::ServiceAlert => "alert",
        Field::ServiceStatusReason => "reason",
        Field::ServicePhone => "phone",
        Field::Hours | Field::HoursInterval => "hours",
        Field::HoursDays => "hours.days",
        Field::ExceptionInterval => "exceptions",
        Field::ExceptionReason => "exceptions.reason",
        Field::SearchText => "text",
        Field::SuggestionProposedValue => "proposedValue",
        Field::SuggestionComment => "comment",
        Field::SuggestionDecisionReason => "reason",
        Field::SituationResidencePermitMonths => "situation.residencePermitMonths",
        Field::SituationSocialInsuranceMonths => "situation.socialInsuranceMonths",
        Field::SituationAge => "situation.age",
        Field::SituationChildAge => "situation.childAge",
        Field::ReferralNeeds => "needs",
        Field::ReferralReason => "reason",
        Field::ReferralNote => "note",
        Field::ReferralOutcome => "outcome",
        Field::ClientDisplayName => "displayName",
        Field::ClientPhone => "phone",
        Field::ClientPreferredLanguage => "preferredLanguage",
        Field::ClientNotes => "notes",
        Field::ConsentPurpose => "purpose",
        Field::ReportMonth => "month",
    }
}

/// For `createOrganization`, whose first place arrives in its `location` argument: a place's
/// field is reported there (`location.street`), not under `input`.
pub fn in_location_argument(error: ApiError) -> ApiError {
    match error {
        ApiError::Invalid(invalid) if invalid.field.is_location() => {
            let path = argument_path(invalid.field);
            let field = format!("location.{}", path.strip_prefix("input.").unwrap_or(path));
            ApiError::BadInput { field, message: invalid.message }
        }
        other => other,
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        if let ApiError::Internal(source) = &error {
            // The cause goes to the log, never to the client.
            tracing::error!(error = %error_chain(source), "internal error while resolving a request");
        }
        async_graphql::Error::new(error.message()).extend_with(|_, extensions| {
            extensions.set("code", error.code().as_str());
            match &error {
                ApiError::BadInput { field, .. } => extensions.set("field", field.as_str()),
                ApiError::Invalid(invalid) => extensions.set("field", argument_path(invalid.field)),
                ApiError::SnapshotRequired { .. } => {
                    extensions.set("field", "since");
                    extensions.set("reason", crate::sync::SNAPSHOT_REQUIRED);
                }
                _ => {}
            }
        })
    }
}

impl From<crate::values::ValueError> for async_graphql::Error {
    fn from(error: crate::values::ValueError) -> Self {
        ApiError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::ValueError;

    fn extensions(error: ApiError) -> (Option<String>, Option<String>) {
        let error = async_graphql::Error::from(error);
        let value = |key: &str| {
            error.extensions.as_ref().and_then(|e| e.get(key)).map(|v| v.to_string().trim_matches('"').to_owned())
        };
        (value("code"), value("field"))
    }

    #[test]
    fn a_domain_field_reaches_the_client_as_its_argument_path() {
        let invalid = ApiError::from(ValueError::new(Field::CostAmount, "amount must be … (金额超出范围)"));
        assert_eq!(extensions(invalid), (Some("BAD_USER_INPUT".into()), Some("costs.amountYuan".into())));
        let invalid = ApiError::from(ValueError::new(Field::ServiceLocations, "…"));
        assert_eq!(extensions(invalid).1.as_deref(), Some("locationIds"));
        let bad = ApiError::bad_input("near.lat", "…");
        assert_eq!(extensions(bad).1.as_deref(), Some("near.lat"));
        assert_eq!(extensions(ApiError::Forbidden), (Some("FORBIDDEN".into()), None));
        let in_location = in_location_argument(ApiError::from(ValueError::new(Field::LocationAdcode, "…")));
        assert_eq!(extensions(in_location).1.as_deref(), Some("location.adcode"));
        let not_location = in_location_argument(ApiError::from(ValueError::new(Field::OrganizationWebsite, "…")));
        assert_eq!(extensions(not_location).1.as_deref(), Some("input.website"));
    }
}
