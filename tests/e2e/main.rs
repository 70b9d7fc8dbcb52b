//! End-to-end tests: each starts the real server on 127.0.0.1:0 with a fresh database (SQLite,
//! and PostgreSQL when `QIAO_TEST_POSTGRES_URL` is set) and speaks GraphQL over HTTP to it.
//! One test binary for the whole suite keeps CI's link time down.

mod admin;
mod auth;
mod bola;
mod clients;
mod concurrency;
mod console;
mod contract;
mod core;
mod defaults;
mod detail;
mod domain;
mod eligibility;
mod errors;
mod evidence;
mod faults;
mod feed;
mod hsds;
mod http;
mod import;
mod limits;
mod news;
mod observability;
mod pagination;
mod pinyin;
mod privacy;
mod published;
mod ratelimits;
mod referrals;
mod region;
mod rules;
mod search;
mod seed;
mod snapshot;
mod stewardship;
mod suggestions;
mod sync;
mod values;
mod villages;
mod writers;
