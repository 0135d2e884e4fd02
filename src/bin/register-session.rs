//! Drop-in for register-session.sh.
fn main() -> std::process::ExitCode {
    sessions::dropin::run("register-session <id> [name] [role]", |args| match args {
        [id, rest @ ..] if rest.len() <= 2 => {
            let mut cmd = vec!["register".to_string(), id.clone()];
            if let Some(name) = rest.first() {
                cmd.extend(["--name".into(), name.clone()]);
            }
            if let Some(role) = rest.get(1) {
                cmd.extend(["--role".into(), role.clone()]);
            }
            Some(cmd)
        }
        _ => None,
    })
}
