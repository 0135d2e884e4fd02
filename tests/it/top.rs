//! `sessions top` in a real terminal: tmux runs a shell, the shell runs `sessions top`,
//! `capture-pane` reads the screen. Changes come from other `sessions` processes.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{TestHub, bin};

/// One tmux server of its own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A shell in a `width`×`height` window, with `sessions` on PATH, aimed at `hub`.
    fn start(hub: &TestHub, width: u16, height: u16) -> Tmux {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "sessions-top-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Tmux { socket };
        let bin_dir = bin("sessions").parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-s", "t"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .args(["env", "-u", "SESSIONS_ID", "-u", "NO_COLOR"])
            .arg(format!("SESSIONS_HUB={}", hub.root.display()))
            .arg(format!("PATH={path}"))
            .arg("sh")
            .status()
            .expect("tmux runs (installed by .ci/run)");
        assert!(status.success(), "tmux new-session failed");
        // dash sets root's prompt itself, so the prompt is set once the shell is up.
        tmux.wait_for("the shell", |s| !s.trim().is_empty());
        tmux.send(&["PS1='READY$ '", "Enter"]);
        // (a line that starts with the prompt, not the echo of the line that sets it)
        tmux.wait_for("the shell prompt", |s| {
            s.lines().any(|l| l.starts_with("READY$"))
        });
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        cmd
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait (bounded) until the screen satisfies `f`; returns that screen.
    fn wait_for(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if f(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `q` leaves the screen as it was: the prompt is back and the terminal is in
    /// cooked mode again (raw mode switched off), so typed commands run.
    fn quit_and_check_terminal(&self) {
        self.send(&["q"]);
        // The shell's fresh prompt is the last line: top has exited (until then its
        // input reader could still take the keys typed next).
        self.wait_for("top to exit to the prompt", |s| {
            !s.contains("q quit")
                && s.lines()
                    .rev()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .is_some_and(|l| l.ends_with("READY$"))
        });
        self.check_terminal_is_cooked();
    }

    /// The terminal is in cooked mode again.
    fn check_terminal_is_cooked(&self) {
        self.send(&[
            "stty -a | grep -o -- '-*icanon' | sed 's/^/MO''DE:/'",
            "Enter",
        ]);
        // (typed as `MO''DE:`, so only the answer contains `MODE:`)
        let screen = self.wait_for("stty's answer", |s| s.contains("MODE:"));
        assert!(
            screen.contains("MODE:icanon") && !screen.contains("MODE:-icanon"),
            "the terminal was left in raw mode:\n{screen}"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

fn top_is_up(screen: &str) -> bool {
    screen.contains("q quit") && screen.contains("Sessions (")
}

fn shows_the_fixture(tmux: &Tmux, width: u16) {
    tmux.send(&["sessions top", "Enter"]);
    let screen = tmux.wait_for("top's first frame", top_is_up);
    let lines: Vec<&str> = screen.lines().collect();
    for line in &lines {
        assert!(
            line.chars().count() <= usize::from(width),
            "a line wider than the terminal: {line:?}"
        );
    }
    // Every pane is there, with what the fixture holds.
    for pane in [
        "Sessions (6)",
        "Claims (0)",
        "Work (1 open",
        "Status files:",
        "Requests pending",
        "Board (",
    ] {
        assert!(screen.contains(pane), "no {pane:?} pane:\n{screen}");
    }
    assert!(screen.contains("session-5-orchestration"), "{screen}");
    assert!(screen.contains("Deploy Dashboard"), "{screen}");
    assert!(screen.contains("priority-2"), "{screen}");
    // session-1-dashboard is registered but never sent a heartbeat.
    assert!(screen.contains("5 gone · 1 never"), "{screen}");
    if width >= 200 {
        // Tall enough for every session.
        assert!(screen.contains("never session-1-dashboard"), "{screen}");
    }
    tmux.quit_and_check_terminal();
}

#[test]
fn top_shows_the_fixture_hub_at_80x24_and_quits_cleanly() {
    let hub = TestHub::fixture();
    let tmux = Tmux::start(&hub, 80, 24);
    shows_the_fixture(&tmux, 80);
}

#[test]
fn top_shows_the_fixture_hub_at_200x50_and_quits_cleanly() {
    let hub = TestHub::fixture();
    let tmux = Tmux::start(&hub, 200, 50);
    shows_the_fixture(&tmux, 200);
}

#[test]
fn top_reflects_changes_made_by_other_processes() {
    let hub = TestHub::new();
    let tmux = Tmux::start(&hub, 80, 24);
    tmux.send(&["sessions top", "Enter"]);
    tmux.wait_for("top's first frame", top_is_up);
    assert!(!tmux.screen().contains("painting-fence"));

    hub.ok(&["--as", "painter", "register", "--name", "Painter"]);
    hub.ok(&["--as", "painter", "heartbeat", "--work", "painting-fence"]);
    tmux.wait_for("the new session's work", |s| s.contains("painting-fence"));

    hub.ok(&["--as", "painter", "claim", "fence-key"]);
    tmux.wait_for("the new claim", |s| s.contains("fence-key painter"));

    hub.ok(&["--as", "painter", "msg", "send", "--to", "all", "wet paint"]);
    tmux.wait_for("the broadcast on the board", |s| s.contains("wet paint"));
    tmux.quit_and_check_terminal();
}

#[test]
fn top_claims_the_selected_free_item_and_releases_it() {
    let hub = TestHub::new();
    hub.ok(&["--as", "me1", "register", "--name", "Me"]);
    let created = hub.json(&[
        "--as",
        "me1",
        "milestone",
        "create",
        "Paint the shed",
        "--priority",
        "HIGH",
    ]);
    let id = created["summary"]["id"]
        .as_str()
        .expect("milestone id")
        .to_string();
    let key = format!("milestone-{id}");
    let tmux = Tmux::start(&hub, 100, 30);
    tmux.send(&["sessions --as me1 top", "Enter"]);
    tmux.wait_for("the free milestone", |s| {
        top_is_up(s) && s.contains("free") && s.contains("Paint the shed")
    });
    // Sessions → Claims → Work, then claim the first row.
    tmux.send(&["Tab", "Tab", "c"]);
    tmux.wait_for("the claim in the Claims pane", |s| {
        s.contains(&format!("{key} me1"))
    });
    let claims = hub.json(&["claims"]);
    assert!(
        claims.to_string().contains(&key),
        "the claim is not on disk: {claims}"
    );
    // Claims pane (Shift-Tab back once), release it.
    tmux.send(&["BTab", "r"]);
    tmux.wait_for("the release", |s| s.contains(&format!("released {key}")));
    let claims = hub.json(&["claims"]);
    assert!(
        !claims.to_string().contains(&key),
        "the claim is still on disk: {claims}"
    );
    tmux.quit_and_check_terminal();
}

#[test]
fn top_without_a_terminal_says_what_to_use_instead() {
    let hub = TestHub::new();
    let out = hub.run(&["top"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
}

#[test]
fn top_restores_the_terminal_on_sigterm() {
    let hub = TestHub::new();
    let tmux = Tmux::start(&hub, 80, 24);
    tmux.send(&["sessions top; echo \"EX\"\"IT:$?\"", "Enter"]);
    tmux.wait_for("top's first frame", top_is_up);
    let out = tmux
        .cmd()
        .args(["list-panes", "-t", "t", "-F", "#{pane_pid}"])
        .output()
        .expect("tmux list-panes");
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("the shell's children");
    let top = children
        .split_whitespace()
        .next()
        .expect("top runs under the shell");
    let status = Command::new("kill")
        .args(["-TERM", top])
        .status()
        .expect("kill");
    assert!(status.success());
    let screen = tmux.wait_for("top to exit", |s| s.contains("EXIT:"));
    assert!(screen.contains("EXIT:0"), "{screen}");
    assert!(
        !screen.contains("q quit"),
        "top's screen was left behind:\n{screen}"
    );
    tmux.send(&["clear", "Enter"]);
    tmux.wait_for("a clear screen", |s| !s.contains("EXIT:"));
    tmux.check_terminal_is_cooked();
}

/// Focus the board pane (Shift-Tab from the first pane wraps to the last, the board).
fn focus_board(tmux: &Tmux) {
    tmux.send(&["BTab"]);
    tmux.wait_for("the board's keys in the footer", |s| {
        s.contains("Enter open · a ack · r reply")
    });
}

#[test]
fn top_reflects_every_kind_of_hub_file_changed_by_another_process() {
    let hub = TestHub::new();
    hub.ok(&["--as", "me1", "register", "--name", "Me"]);
    let tmux = Tmux::start(&hub, 160, 50);
    tmux.send(&["sessions --as me1 top", "Enter"]);
    tmux.wait_for("top's first frame", top_is_up);

    // The registry and a new heartbeat file, then that heartbeat rewritten.
    hub.ok(&["--as", "painter", "register", "--name", "Painter"]);
    hub.ok(&["--as", "painter", "heartbeat", "--work", "painting-fence"]);
    tmux.wait_for("the new session's work", |s| {
        s.contains("Sessions (2)") && s.contains("painting-fence")
    });
    hub.ok(&["--as", "painter", "heartbeat", "--work", "second-coat"]);
    tmux.wait_for("the heartbeat's new work", |s| {
        s.contains("second-coat") && !s.contains("painting-fence")
    });

    // A claim appears, then goes.
    hub.ok(&["--as", "painter", "claim", "fence-key"]);
    tmux.wait_for("the new claim", |s| s.contains("fence-key painter"));
    hub.ok(&["--as", "painter", "release", "fence-key"]);
    tmux.wait_for("the claim released", |s| {
        s.contains("Claims (0)") && !s.contains("fence-key")
    });

    // A milestone.
    hub.ok(&["--as", "painter", "milestone", "create", "Paint the shed"]);
    tmux.wait_for("the new milestone", |s| s.contains("Paint the shed"));

    // A status file created, then blocked by a ❌ dependency.
    hub.ok(&["--as", "painter", "report", "new", "infra"]);
    tmux.wait_for("the new status file", |s| s.contains(" infra"));
    hub.ok(&[
        "--as",
        "painter",
        "report",
        "set",
        "infra",
        "DEPENDENCIES",
        "Auth service",
        "❌",
        "token endpoint down",
    ]);
    tmux.wait_for("the blocked status file", |s| {
        s.contains("BLOCKED infra") && s.contains("Auth service")
    });

    // A collaboration request waiting on me.
    hub.ok(&[
        "--as",
        "painter",
        "collab",
        "request",
        "me1",
        "hold the ladder",
    ]);
    tmux.wait_for("the request on me", |s| {
        s.contains("Requests on me (1)") && s.contains("hold the ladder")
    });

    // A message for me (unread), then my inbox read elsewhere (my cursor moves).
    hub.ok(&["--as", "painter", "msg", "send", "--to", "me1", "wet paint"]);
    let screen = tmux.wait_for("the message", |s| s.contains("wet paint"));
    assert!(!screen.contains("Board (0 unread)"), "{screen}");
    hub.ok(&["--as", "me1", "inbox", "--unread", "--mark-read"]);
    tmux.wait_for("the message read elsewhere", |s| {
        s.contains("Board (0 unread)")
    });
    tmux.quit_and_check_terminal();
}

#[test]
fn top_opens_acknowledges_and_replies_to_a_board_message() {
    let hub = TestHub::new();
    hub.ok(&["--as", "me1", "register", "--name", "Me"]);
    hub.ok(&["--as", "painter", "register", "--name", "Painter"]);
    let sent = hub.json(&[
        "--as",
        "painter",
        "msg",
        "send",
        "--to",
        "me1",
        "--subject",
        "Review",
        "Can you review PR 7?\nThe second line of the body",
    ]);
    let id = sent["id"].as_str().expect("message id").to_string();
    let tmux = Tmux::start(&hub, 120, 40);
    tmux.send(&["sessions --as me1 top", "Enter"]);
    tmux.wait_for("the unread message", |s| {
        top_is_up(s) && s.contains("Board (1 unread)")
    });
    focus_board(&tmux);

    // Open: the whole message, with who acknowledged it.
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the message in full", |s| {
        s.contains("The second line of the body")
    });
    assert!(screen.contains("Acknowledged by: nobody yet"), "{screen}");
    assert!(screen.contains(&id), "{screen}");

    // Ack: the ack lands in the hub's acks, and the open message shows it.
    tmux.send(&["a"]);
    tmux.wait_for("the ack", |s| s.contains("Acknowledged by: me1"));
    let acks = hub.path(&format!("ACTIVE/ACKS/{id}/me1.json"));
    assert!(acks.is_file(), "no ack file at {}", acks.display());
    let ack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&acks).unwrap()).unwrap();
    assert_eq!(ack["session_id"], "me1");
    assert_eq!(ack["message_id"], id.as_str());

    // Reply: typed in the footer, posted from me1 to the sender, as a reply.
    tmux.send(&["r"]);
    tmux.wait_for("the reply line", |s| s.contains("reply to painter:"));
    tmux.send(&["-l", "on it, after lunch"]);
    tmux.wait_for("the typed reply", |s| s.contains("on it, after lunch"));
    tmux.send(&["Enter"]);
    tmux.wait_for("the reply sent", |s| s.contains("replied to painter"));
    let inbox = hub.json(&["--as", "painter", "inbox"]);
    let reply = inbox["messages"]
        .as_array()
        .expect("inbox messages")
        .iter()
        .find(|m| m["body"] == "on it, after lunch")
        .unwrap_or_else(|| panic!("the reply is not in painter's inbox: {inbox}"));
    assert_eq!(reply["from"], "me1");
    assert_eq!(reply["to"], serde_json::json!(["painter"]));
    assert_eq!(reply["reply_to"], id.as_str());
    // The board pane shows it (the watcher saw the board grow).
    tmux.wait_for("the reply on the board", |s| s.contains("me1→painter"));
    tmux.quit_and_check_terminal();
}

#[test]
fn top_without_a_session_says_how_to_ack() {
    let hub = TestHub::new();
    hub.ok(&["--as", "painter", "msg", "send", "--all", "wet paint"]);
    let tmux = Tmux::start(&hub, 100, 30);
    tmux.send(&["sessions top", "Enter"]);
    tmux.wait_for("the message", |s| top_is_up(s) && s.contains("wet paint"));
    focus_board(&tmux);
    tmux.send(&["a"]);
    tmux.wait_for("the hint", |s| {
        s.contains("to acknowledge, start top as a session")
    });
    assert!(!hub.path("ACTIVE/ACKS").exists() || hub.data_files("ACTIVE/ACKS").is_empty());
    tmux.quit_and_check_terminal();
}

#[test]
fn top_charts_messages_and_heartbeats_per_minute_from_the_hub() {
    let hub = TestHub::new();
    hub.ok(&["--as", "s1", "register", "--name", "One"]);
    hub.ok(&["--as", "s2", "register", "--name", "Two"]);
    for text in ["first", "second", "third"] {
        hub.ok(&["--as", "s1", "msg", "send", "--all", text]);
    }
    let tmux = Tmux::start(&hub, 200, 50);
    tmux.send(&["sessions top", "Enter"]);
    let screen = tmux.wait_for("the chart", |s| {
        top_is_up(s) && s.contains("Messages / min, last 60 min: 3 (peak 3)")
    });
    // One heartbeat per session so far (registering writes one).
    assert!(
        screen.contains("Heartbeats / min, last 60 min: 2 (peak 2)"),
        "{screen}"
    );
    // The bar for this minute is drawn at full height in the chart rows.
    let chart: Vec<&str> = screen.lines().skip(1).take(6).collect();
    assert!(
        chart.iter().any(|l| l.contains('█')),
        "no bar in the chart:\n{}",
        chart.join("\n")
    );
    // A heartbeat seen while top runs counts.
    hub.ok(&["--as", "s2", "heartbeat", "--work", "charting"]);
    tmux.wait_for("the new heartbeat in the chart", |s| {
        s.contains("Heartbeats / min, last 60 min: 3")
    });
    tmux.quit_and_check_terminal();

    // At 80x24 there is no room for the chart: the rate is in the board's title.
    let tmux = Tmux::start(&hub, 80, 24);
    tmux.send(&["sessions top", "Enter"]);
    let screen = tmux.wait_for("the board's rate", |s| {
        top_is_up(s) && s.contains("3 msg/h")
    });
    assert!(!screen.contains("Messages / min"), "{screen}");
    tmux.quit_and_check_terminal();
}
