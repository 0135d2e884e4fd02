//! Drop-in for claim-milestone.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "claim-milestone <milestone-id> <session-id>",
        |args| match args {
            [id, rest @ ..] if rest.len() <= 1 => Some(
                [
                    sessions::dropin::as_session(rest.first()),
                    vec!["milestone".into(), "claim".into(), id.clone()],
                ]
                .concat(),
            ),
            _ => None,
        },
    )
}
