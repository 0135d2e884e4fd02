//! Drop-in for session-request-collaboration.sh:
//! `session-request-collaboration <target> "<request>" [urgency] [from]`.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "session-request-collaboration <target-session> \"<request>\" [normal|high|urgent] [from-session-id]",
        |args| match args {
            [target, request, rest @ ..] if rest.len() <= 2 => {
                let urgency = rest.first().map_or("normal", String::as_str);
                Some(
                    [
                        sessions::dropin::as_session(rest.get(1)),
                        ["collab", "request", "--urgency"]
                            .map(String::from)
                            .to_vec(),
                        vec![
                            urgency.to_string(),
                            "--".into(),
                            target.clone(),
                            request.clone(),
                        ],
                    ]
                    .concat(),
                )
            }
            _ => None,
        },
    )
}
