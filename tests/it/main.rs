//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod claims;
mod dropins;
mod foundation;
mod messages;
mod mixedfleet;
mod output;
mod statusfiles;
mod watch;
