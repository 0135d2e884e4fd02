//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod chats;
mod chats_real;
mod claims;
mod fake_model;
mod foundation;
mod messages;
mod output;
mod statusfiles;
mod watch;
