//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod claims;
mod foundation;
mod git;
mod hardening;
mod messages;
mod output;
mod statusfiles;
mod watch;
