//! Drop-in for save-progress.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run(
        "save-progress [auto|quick|milestone|full] [session-id]",
        |args| match args {
            [] => Some(vec!["save-progress".into()]),
            [mode, rest @ ..] if rest.len() <= 1 => {
                let mut cmd = vec!["save-progress".to_string(), mode.clone()];
                cmd.extend(rest.first().cloned());
                Some(cmd)
            }
            _ => None,
        },
    )
}
