//! Drop-in for update-milestone.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "update-milestone <milestone-id> <step> <status> [notes] [session-id]",
        |args| match args {
            [id, step, status, rest @ ..] if rest.len() <= 2 => {
                let mut cmd = sessions::dropin::as_session(rest.get(1));
                cmd.extend(["milestone".into(), "update".into(), id.clone()]);
                cmd.extend([step.clone(), status.clone()]);
                // "" only holds the place of the notes when a session is named.
                cmd.extend(rest.first().filter(|n| !n.is_empty()).cloned());
                Some(cmd)
            }
            _ => None,
        },
    )
}
