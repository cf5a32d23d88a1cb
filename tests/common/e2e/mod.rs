//! The harness of the end-to-end tests that run the real programs (tests/incident.rs,
//! tests/replicas.rs): `soakd`, Prometheus 2.42 and Alertmanager 0.25 as plain child processes
//! on free 127.0.0.1 ports, each with its log in a temp dir and killed by its own PID when the
//! test ends (also on failure), and a webhook receiver inside the test that records every
//! notification. Every wait has a deadline; a failure prints the child logs and the webhook log.
//!
//! Why a module of its own: these tests differ in what they prove, not in how they start and
//! watch the programs. Include it with `#[path = "common/e2e/mod.rs"] mod e2e;` beside
//! `#[path = "common/mod.rs"] mod common;` and `mod tools;` (tests/tools), which it builds on.

#![allow(dead_code)]

pub mod http;
pub mod prom;
pub mod stack;
pub mod tools;
pub mod webhook;

// Each test uses some of these; the others would warn as unused imports.
#[allow(unused_imports)]
pub use http::{enc, get_json, http, http_auth, target_control, unix_now};
pub(crate) use stack::harness_with_stack;
#[allow(unused_imports)]
pub use stack::{Harness, Stack, free_port};
#[allow(unused_imports)]
pub use tools::{root, soakd_bin, tool};
#[allow(unused_imports)]
pub use webhook::{Notification, Webhook};
