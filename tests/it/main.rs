//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod claims;
mod foundation;
mod hardening;
mod hooks;
mod mcp;
mod messages;
mod output;
mod reservations;
mod statusfiles;
mod watch;
