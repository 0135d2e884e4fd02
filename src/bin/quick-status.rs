//! Drop-in for quick-status.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("quick-status [--json]", |args| {
        Some([vec!["status".to_string()], args.to_vec()].concat())
    })
}
