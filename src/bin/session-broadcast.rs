//! Drop-in for session-broadcast.sh: `session-broadcast "<message>" [priority] [from]`.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "session-broadcast \"<message>\" [normal|high|urgent] [from-session-id]",
        |args| match args {
            [message, rest @ ..] if rest.len() <= 2 => {
                let priority = rest.first().map_or("normal", String::as_str);
                Some(
                    [
                        sessions::dropin::as_session(rest.get(1)),
                        ["msg", "send", "--all", "--subject", "Broadcast Message"]
                            .map(String::from)
                            .to_vec(),
                        vec![
                            "--priority".into(),
                            priority.to_string(),
                            "--".into(),
                            message.clone(),
                        ],
                    ]
                    .concat(),
                )
            }
            _ => None,
        },
    )
}
