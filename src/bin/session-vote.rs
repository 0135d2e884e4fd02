//! Drop-in for session-vote.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "session-vote <proposal> <agree|question|object> <voter> [comment]",
        |args| match args {
            [proposal, vote, voter, rest @ ..] if rest.len() <= 1 => {
                let mut cmd = vec![
                    "--as".into(),
                    voter.clone(),
                    "handshake".into(),
                    "vote".into(),
                    proposal.clone(),
                    vote.clone(),
                ];
                if let Some(comment) = rest.first() {
                    cmd.extend(["--comment".into(), comment.clone()]);
                }
                Some(cmd)
            }
            _ => None,
        },
    )
}
