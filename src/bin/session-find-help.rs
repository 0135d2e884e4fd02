//! Drop-in for session-find-help.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("session-find-help <capability>", |args| match args {
        [capability] => Some(vec!["find-help".into(), capability.clone()]),
        _ => None,
    })
}
