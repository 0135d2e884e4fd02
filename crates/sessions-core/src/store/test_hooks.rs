//! Hooks that exist only in test builds (the `test-hooks` feature, which the root
//! package enables through its dev-dependencies: `cargo test` builds the binaries with
//! it, `cargo build --release` does not). They let the integration tests reach states
//! that real time and real scheduling reach only by chance: a clock set by
//! `SESSIONS_NOW` (see [`crate::store::time::now`]), a writer paused at a named point,
//! a grace period shorter than the 15 s floor.

/// Whether this build has the test hooks. A release binary answers `false`.
pub const ENABLED: bool = cfg!(feature = "test-hooks");

/// A test-only pause point. When `SESSIONS_TEST_PAUSE` is `<name>:<fifo>`, the process
/// marks its arrival (`<fifo>.at.<pid>`, so the test sees it got here), waits for one
/// byte from the FIFO (so the test decides when it goes on; many processes can wait
/// on one FIFO and be let go together) and marks when it left (`<fifo>.left.<pid>`).
/// Both markers hold the time, in microseconds since the epoch. Without the feature this does nothing, and the
/// variable is never read.
pub fn pause_point(name: &str) {
    #[cfg(feature = "test-hooks")]
    if let Ok(spec) = std::env::var("SESSIONS_TEST_PAUSE")
        && let Some((at, fifo)) = spec.split_once(':')
        && at == name
    {
        use std::io::Read;
        let pid = std::process::id();
        let micros = || chrono::Utc::now().timestamp_micros().to_string();
        let _ = std::fs::write(format!("{fifo}.at.{pid}"), micros());
        if let Ok(mut f) = std::fs::File::open(fifo) {
            let _ = f.read(&mut [0u8]);
        }
        let _ = std::fs::write(format!("{fifo}.left.{pid}"), micros());
    }
    #[cfg(not(feature = "test-hooks"))]
    let _ = name;
}
