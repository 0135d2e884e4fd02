//! What people see on a terminal and nothing more when piped: the `claim --wait` and
//! `msg archive` progress lines, `--color`, NO_COLOR and `-q`. A real pseudo-terminal
//! comes from util-linux `script`.

use crate::support::{TestHub, bin, stderr};

/// Run `sessions ARGS` on a pseudo-terminal (stdout and stderr both); what it showed
/// and its exit code.
fn on_a_terminal(hub: &TestHub, env: &str, args: &str) -> (String, Option<i32>) {
    let line = format!("{env} '{}' {args}", bin("sessions").display());
    let out = hub
        .sh(&format!("script -qec \"{line}\" /dev/null"))
        .env_remove("NO_COLOR")
        .output()
        .expect("script (util-linux) runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

#[test]
fn claim_wait_on_a_terminal_says_what_it_waits_for_and_when_it_ran_out() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s1", "claim", "deploy-api"]);
    let (shown, code) = on_a_terminal(&hub, "", "--as s2 claim deploy-api --wait 1s");
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("⏳ waiting for deploy-api (held by s1, lease ends in"),
        "{shown}"
    );
    assert!(shown.contains(" of 1s"), "how long: {shown}");
    assert!(
        shown.contains("\r\x1b[2K"),
        "the line is redrawn in place: {shown:?}"
    );
    assert!(
        shown.contains("⌛ waited 1s for deploy-api; the wait ran out"),
        "{shown}"
    );
    // Piped: only the error, nothing extra.
    let out = hub.run(&["--as", "s2", "claim", "deploy-api", "--wait", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains("waiting") && !err.contains("waited"), "{err}");
    assert!(err.contains("s1"), "the error names the holder: {err}");
    // -q: no progress line on a terminal either.
    let (shown, _) = on_a_terminal(&hub, "", "-q --as s2 claim deploy-api --wait 1s");
    assert!(!shown.contains("waiting for"), "{shown}");
}

#[test]
fn archiving_a_large_board_shows_progress_on_a_terminal_only() {
    let hub = TestHub::new();
    let mut board = String::from("# Messages\n");
    for i in 0..6000 {
        board.push_str(&format!(
            "\n---\n\n**ID:** m-{i}\n**From:** s1\n**To:** all\n**Time:** 2025-01-01T00:00:00Z\n\n### note {i}\n\n{}\n",
            "x".repeat(160)
        ));
    }
    hub.write("MESSAGES.md", &board);
    assert!(board.len() > 1024 * 1024);
    let (shown, code) = on_a_terminal(&hub, "", "msg archive --before 2025-06-01 --dry-run");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("📦 archiving MESSAGES.md ("), "{shown}");
    assert!(shown.contains("Would move 6000 messages"), "{shown}");
    let out = hub.run(&["msg", "archive", "--before", "2025-06-01", "--dry-run"]);
    assert!(out.status.success());
    assert!(
        !stderr(&out).contains("archiving"),
        "nothing extra when piped"
    );
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    // Piped: plain by default, coloured when asked.
    let plain = hub.ok(&["status"]);
    assert!(!plain.contains("\x1b["), "{plain:?}");
    let forced = hub.ok(&["--color", "always", "status"]);
    assert!(forced.contains("\x1b[1m"), "{forced:?}");
    // A terminal: colour, unless NO_COLOR or --color never.
    let (tty, _) = on_a_terminal(&hub, "", "status");
    assert!(tty.contains("\x1b[1m"), "{tty:?}");
    let (no_color, _) = on_a_terminal(&hub, "NO_COLOR=1", "status");
    assert!(!no_color.contains("\x1b[1m"), "{no_color:?}");
    let (never, _) = on_a_terminal(&hub, "", "--color never status");
    assert!(!never.contains("\x1b[1m"), "{never:?}");
    let out = hub.run(&["--color", "sometimes", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("auto, always, never"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn quiet_drops_warnings_but_not_errors_or_output() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register"]);
    hub.ok(&["--as", "s2", "register"]);
    let out = hub.run(&["-q", "--as", "s1", "msg", "send", "--to", "s22", "hi"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "no warning with -q");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("s22"),
        "the answer still prints"
    );
    let v = hub.json(&["-q", "--as", "s1", "msg", "send", "--to", "s22", "hi"]);
    assert!(v["warnings"][0].is_string(), "JSON keeps its warnings: {v}");
    let out = hub.run(&["-q", "msg", "show", "nothing-like-it"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not found") || stderr(&out).contains("no message"),
        "{}",
        stderr(&out)
    );
}
