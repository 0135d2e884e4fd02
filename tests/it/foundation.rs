//! Issue 2: storage, hub discovery, sessions and liveness, quick-status.

use crate::support::*;

#[test]
fn init_then_register_shows_in_status() {
    let hub = TestHub::new();
    hub.ok(&[
        "--as", "s1", "register", "--name", "One", "--role", "Builder", "--spec", "ui,react",
    ]);
    let status = hub.json(&["status"]);
    assert_eq!(status["sessions"]["counts"]["live"], 1);
    assert_eq!(status["sessions"]["sessions"][0]["id"], "s1");
}
