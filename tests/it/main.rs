//! The one integration-test binary: every test runs the real binaries on temp hubs.

mod support;

mod claims;
mod current_state;
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
