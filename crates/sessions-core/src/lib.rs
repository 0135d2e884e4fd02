//! The `SESSIONS/` hub: layout, formats, atomic storage, locks, sessions and views.
//!
//! No printing and no async here: commands return data; the `sessions` binary renders it.

pub mod board;
pub mod init;
pub mod sessions;
pub mod status;
pub mod store;
pub mod views;
pub mod work;

pub use store::error::{Error, Result};
pub use store::hub::Hub;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    /// The core stays synchronous and watcher-free: only the crates that watch (and the
    /// binaries that link them) pay for an async runtime and file notifications. Walks
    /// the lock file, so a dependency that pulls them in indirectly is caught too.
    #[test]
    fn the_core_links_no_async_runtime_or_file_watcher() {
        let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
        let lock: toml::Table = std::fs::read_to_string(lock_path)
            .expect("the workspace lock file")
            .parse()
            .expect("Cargo.lock is TOML");
        let mut deps: HashMap<String, Vec<String>> = HashMap::new();
        for package in lock["package"].as_array().expect("packages") {
            let name = package["name"].as_str().expect("a name").to_string();
            let list: Vec<String> = package
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|d| {
                    d.iter()
                        .filter_map(|v| v.as_str())
                        .map(|s| s.split(' ').next().unwrap_or(s).to_string())
                        .collect()
                })
                .unwrap_or_default();
            deps.entry(name).or_default().extend(list);
        }
        let mut seen = BTreeSet::new();
        let mut todo = vec!["sessions-core".to_string()];
        while let Some(name) = todo.pop() {
            if seen.insert(name.clone()) {
                todo.extend(deps.get(&name).cloned().unwrap_or_default());
            }
        }
        assert!(
            seen.len() > 5,
            "the walk found the core's dependencies: {seen:?}"
        );
        for banned in ["tokio", "notify", "mio"] {
            assert!(!seen.contains(banned), "sessions-core depends on {banned}");
        }
    }
}
