//! The `soakd` command: its arguments (`cli`), one module per command (`cmd`) and the log
//! subscriber every command shares (`logs`), on top of the engine (the `soakd` library in
//! `crates/soakd`). A library target only so the tests can parse a command line and describe a
//! plan the way the binary does; `main.rs` is the binary.

pub mod cli;
pub mod cmd;
pub mod logs;
