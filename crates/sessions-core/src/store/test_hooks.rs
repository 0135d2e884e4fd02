//! Hooks that exist only in test builds (the `test-hooks` feature, which the root
//! package enables through its dev-dependencies: `cargo test` builds the binaries with
//! it, `cargo build --release` does not). They let the integration tests reach states
//! that real time and real scheduling reach only by chance: a clock set by
//! `SESSIONS_NOW` (see [`crate::store::time::now`]), a writer paused at a named point,
//! a grace period shorter than the 15 s floor.

/// Whether this build has the test hooks. A release binary answers `false`.
pub const ENABLED: bool = cfg!(feature = "test-hooks");

/// A test-only pause point. When `SESSIONS_TEST_PAUSE` is `<name>:<fifo>`, the process
/// opens the FIFO for reading here and reads it to the end: the open blocks until the
/// test opens the write end (so the test knows the process got here), and the read
/// blocks until the test closes it (so the test decides when it goes on). Without the
/// feature this does nothing, and the variable is never read.
pub fn pause_point(name: &str) {
    #[cfg(feature = "test-hooks")]
    if let Ok(spec) = std::env::var("SESSIONS_TEST_PAUSE")
        && let Some((at, fifo)) = spec.split_once(':')
        && at == name
    {
        use std::io::Read;
        let mut rest = Vec::new();
        if let Ok(mut f) = std::fs::File::open(fifo) {
            let _ = f.read_to_end(&mut rest);
        }
    }
    #[cfg(not(feature = "test-hooks"))]
    let _ = name;
}
