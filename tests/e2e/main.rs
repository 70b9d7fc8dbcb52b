//! End-to-end tests: each starts the real server on 127.0.0.1:0 with a fresh database (SQLite,
//! and PostgreSQL when `QIAO_TEST_POSTGRES_URL` is set) and speaks GraphQL over HTTP to it.
//! One test binary for the whole suite keeps CI's link time down.

mod admin;
mod auth;
mod contract;
mod core;
mod defaults;
mod detail;
mod domain;
mod eligibility;
mod errors;
mod evidence;
mod faults;
mod hsds;
mod http;
mod import;
mod limits;
mod observability;
mod pagination;
mod ratelimits;
mod region;
mod rules;
mod search;
mod seed;
mod stewardship;
mod suggestions;
mod values;
mod villages;
mod writers;
