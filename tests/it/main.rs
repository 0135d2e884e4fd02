//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod agent_clis;
mod board_hardening;
mod chats;
mod chats_real;
mod claims;
mod crash;
mod current_state;
mod dropins;
mod fake_model;
mod fencing;
mod foundation;
mod git;
mod glance;
mod hardening;
mod hardening_fs;
mod help;
mod hooks;
mod hooks_real;
mod mcp;
mod messages;
mod mixedfleet;
mod output;
mod reservations;
mod sessions;
mod short_ids;
mod skew;
mod statusfiles;
mod surprises;
mod terminal;
mod top;
mod views;
mod watch;
