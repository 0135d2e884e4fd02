//! Drop-in for session-sync.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("session-sync [--json]", |args| {
        Some([vec!["sync".to_string()], args.to_vec()].concat())
    })
}
