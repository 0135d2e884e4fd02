//! Drop-in for session-capability-match.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("session-capability-match \"<task description>\"", |args| {
        (!args.is_empty()).then(|| [vec!["match".to_string()], args.to_vec()].concat())
    })
}
