//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod chats;
mod chats_real;
mod claims;
mod current_state;
mod fake_model;
mod dropins;
mod fencing;
mod foundation;
mod hardening;
mod messages;
mod mixedfleet;
mod output;
mod sessions;
mod statusfiles;
mod watch;
