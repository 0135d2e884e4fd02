//! Drop-in for milestone-status.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("milestone-status [milestone-id] [--json]", |args| {
        Some([vec!["milestone".into(), "status".into()], args.to_vec()].concat())
    })
}
