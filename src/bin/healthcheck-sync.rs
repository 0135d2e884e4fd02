//! Drop-in for the original healthcheck script: `healthcheck-sync [DIR] [--json]`.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("healthcheck-sync [STATUS-DIR] [--json]", |args| {
        let mut out = vec!["healthcheck".to_string()];
        for a in args {
            if a.starts_with('-') {
                out.push(a.clone());
            } else {
                out.push("--dir".to_string());
                out.push(a.clone());
            }
        }
        Some(out)
    })
}
