//! Help that teaches: `--help` by task with the global flags apart, the man page,
//! completions installed in one command.

use crate::support::TestHub;

#[test]
fn help_lists_commands_by_task_and_global_flags_apart() {
    let hub = TestHub::new();
    let help = hub.ok(&["--help"]);
    let at = |needle: &str| {
        help.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from --help:\n{help}"))
    };
    let groups = [
        "Sessions (who is here, what they do):",
        "Work (claims, milestones, what is free):",
        "Messages:",
        "Status files and signals:",
        "Agents (hooks, MCP, their own sessions):",
        "Setup and maintenance:",
        "Global options (every command takes them):",
    ];
    let positions: Vec<usize> = groups.iter().map(|g| at(g)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in order: {help}"
    );
    // A command sits under its task, once.
    assert!(
        at("  claim ") > at("Work (") && at("  claim ") < at("Messages:"),
        "{help}"
    );
    assert_eq!(help.matches("\n  msg ").count(), 1, "{help}");
    assert!(at("--quiet") > at("Global options"), "{help}");
    assert!(help.contains("Examples:"), "examples kept");
    // Enums from one source: the priorities are the board's.
    let send = hub.ok(&["msg", "send", "--help"]);
    assert!(
        send.contains("[possible values: low, normal, high, urgent]"),
        "{send}"
    );
}

#[test]
fn man_prints_a_manual_page_and_writes_one_per_command() {
    let hub = TestHub::new();
    let page = hub.ok(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH sessions 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains(".TH sessions 1"), "a section-1 page");
    assert!(
        page.contains("Coordinate parallel AI coding sessions"),
        "the about"
    );
    assert!(page.contains("claim"), "the commands");
    let dir = hub.root.with_file_name("man1");
    hub.ok(&["man", "--out-dir", dir.to_str().unwrap()]);
    assert!(dir.join("sessions.1").is_file());
    assert!(
        dir.join("sessions-claim.1").is_file(),
        "one page per command"
    );
    if which("man") {
        let out = std::process::Command::new("man")
            .arg("-l")
            .arg(dir.join("sessions.1"))
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        assert!(out.status.success(), "man reads it: {out:?}");
    }
}

#[test]
fn completions_install_with_one_command() {
    let hub = TestHub::new();
    let home = hub.root.with_file_name("home");
    std::fs::create_dir_all(&home).unwrap();
    let install = |shell: &str| {
        let out = hub
            .command("sessions")
            .args(["completions", shell, "--install"])
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = install("bash");
    let bash = home.join(".local/share/bash-completion/completions/sessions");
    assert!(said.contains(&bash.display().to_string()), "{said}");
    let script = std::fs::read_to_string(&bash).unwrap();
    assert!(
        script.contains("complete") && script.contains("sessions"),
        "{script}"
    );
    // bash can load it and then completes a command name.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=(sessions cla); COMP_CWORD=1; COMP_LINE='sessions cla'; COMP_POINT=${{#COMP_LINE}}; _sessions sessions cla sessions; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            bash.display()
        ))
        .output()
        .unwrap();
    let replies = String::from_utf8_lossy(&out.stdout);
    assert!(replies.lines().any(|l| l == "claim"), "{replies} {out:?}");
    let said = install("zsh");
    assert!(home.join(".zfunc/_sessions").is_file());
    assert!(said.contains("fpath=(~/.zfunc $fpath)"), "{said}");
    install("fish");
    assert!(
        home.join(".config/fish/completions/sessions.fish")
            .is_file()
    );
    let out = hub.run(&["completions", "elvish", "--install"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

fn which(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// `init` prints its next commands so they paste into bash, zsh and fish: run them, in
/// every one of those shells that is installed (bash always), in a folder whose name
/// needs quoting.
#[test]
fn init_prints_commands_that_paste_into_every_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("it's my \\ project");
    std::fs::create_dir(&project).unwrap();
    let out = std::process::Command::new(crate::support::bin("sessions"))
        .arg("init")
        .current_dir(&project)
        .env_remove("SESSIONS_HUB")
        .env_remove("SESSIONS_ID")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Next"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert!(lines.len() >= 3, "{text}");
    for line in &lines {
        assert!(
            !line.contains('#') && !line.contains('<'),
            "pastes as is: {line}"
        );
    }
    let hub = std::fs::canonicalize(project.join("SESSIONS")).unwrap();
    let bin_dir = crate::support::bin("sessions")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let shells = ["bash", "zsh", "fish"];
    let mut ran = Vec::new();
    for shell in shells {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {shell}")])
            .output()
            .unwrap();
        if !found.status.success() {
            continue;
        }
        // `&&`: any line that fails fails the run (bash, zsh and fish 3 all have it).
        let script = format!(
            "{} && printf '%s|%s' \"$SESSIONS_HUB\" \"$SESSIONS_ID\"",
            lines.join(" && ")
        );
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(&script)
            .current_dir(tmp.path())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env_remove("SESSIONS_HUB")
            .env_remove("SESSIONS_ID")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}: {out:?}");
        assert!(
            stdout.ends_with(&format!("{}|session-1", hub.display())),
            "{shell} read the hub path back: {stdout}"
        );
        ran.push(shell);
    }
    assert!(ran.contains(&"bash"), "bash is always there");
    // The session registered through the pasted lines is in the hub.
    assert!(
        std::fs::read_to_string(hub.join("REGISTRY.json"))
            .unwrap()
            .contains("session-1")
    );
}

/// The demo of the README's quick start: a short story by default, in the order things
/// happened, no JSON and no time ahead of the clock, closing with three commands that
/// work on the kept hub.
#[test]
fn the_demo_tells_a_short_story_and_ends_with_try_it_yourself() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("cargo run --release -- demo "),
        "the quick start runs the demo"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::bin("sessions"))
        .args(["demo", "--keep", "--dir"])
        .arg(dir.path())
        .env_remove("SESSIONS_HUB")
        .env_remove("SESSIONS_ID")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let (story, closing) = text.split_once("Try it yourself").expect("a closing");
    assert!(
        story.lines().count() < 60,
        "{} lines:\n{story}",
        story.lines().count()
    );
    assert!(
        !story.lines().any(|l| l.trim_start().starts_with('{')),
        "no JSON: {story}"
    );
    for needle in [
        "(lost the race: exit 1)",
        "Milestone ship-login completed",
        "12m ago",
        "is blocked",
    ] {
        assert!(story.contains(needle), "{needle:?} missing:\n{story}");
    }
    // No absolute time at all (so none ahead of the reader's clock); IDs keep theirs.
    for word in story.split_whitespace() {
        let bare = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let looks_like_time = bare.len() >= 19 && bare.as_bytes()[4] == b'-' && bare.contains('T');
        assert!(!looks_like_time, "an absolute time: {word}\n{story}");
    }
    // Both concurrent updates landed (shown as they finished, which is nearly always
    // the order they wrote; the exit order is not a guarantee, so not asserted).
    let mut progress: Vec<u32> = story
        .lines()
        .filter(|l| l.contains("Step ") && l.contains('%'))
        .filter_map(|l| l.split('%').next()?.split_whitespace().last()?.parse().ok())
        .collect();
    progress.sort_unstable();
    assert_eq!(progress, vec![50, 100], "{story}");
    // The three commands run as printed, on the kept hub.
    let commands: Vec<&str> = closing.lines().skip(1).take(3).map(str::trim).collect();
    assert!(commands[0].starts_with("export SESSIONS_HUB="), "{closing}");
    let bin_dir = crate::support::bin("sessions")
        .parent()
        .unwrap()
        .to_path_buf();
    let run = std::process::Command::new("bash")
        .arg("-c")
        .arg(commands.join(" && "))
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("SESSIONS_HUB")
        .env_remove("SESSIONS_ID")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stdout).contains("MULTI-SESSION STATUS"));
    let board = std::fs::read_to_string(dir.path().join("SESSIONS/MESSAGES.md")).unwrap();
    assert!(
        board.contains("hello from me"),
        "the closing's message is on the board"
    );
}
