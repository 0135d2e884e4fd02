//! Drop-in for claim-priority.sh: a number claims `priority-<n>`, anything else is
//! taken as the key itself (the old guides also claim `milestone-<id>` with it).
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "claim-priority <priority-number|key> <session-id>",
        |args| match args {
            [what, rest @ ..] if rest.len() <= 1 => {
                let key = if what.chars().all(|c| c.is_ascii_digit()) {
                    format!("priority-{what}")
                } else {
                    what.clone()
                };
                Some(
                    [
                        sessions::dropin::as_session(rest.first()),
                        vec!["claim".into(), key],
                    ]
                    .concat(),
                )
            }
            _ => None,
        },
    )
}
