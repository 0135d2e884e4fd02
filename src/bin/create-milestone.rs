//! Drop-in for create-milestone.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "create-milestone <title> [HIGH|MEDIUM|LOW] [session-id]",
        |args| match args {
            [title, rest @ ..] if rest.len() <= 2 => {
                let mut cmd = sessions::dropin::as_session(rest.get(1));
                cmd.extend(["milestone".into(), "create".into(), title.clone()]);
                // "" only holds the place of the priority when a session is named.
                if let Some(priority) = rest.first().filter(|p| !p.is_empty()) {
                    cmd.extend(["--priority".into(), priority.clone()]);
                }
                Some(cmd)
            }
            _ => None,
        },
    )
}
