//! Drop-in for session-propose-identity.sh: the proposer is the proposed session.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "session-propose-identity <id> <name> <role> [specializations]",
        |args| match args {
            [id, name, role, rest @ ..] if rest.len() <= 1 => {
                let mut cmd = vec![
                    "--as".into(),
                    id.clone(),
                    "handshake".into(),
                    "propose".into(),
                    id.clone(),
                    "--name".into(),
                    name.clone(),
                    "--role".into(),
                    role.clone(),
                ];
                if let Some(specs) = rest.first() {
                    cmd.extend(["--spec".into(), specs.clone()]);
                }
                Some(cmd)
            }
            _ => None,
        },
    )
}
