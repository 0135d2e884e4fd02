//! Timestamps: tolerant parsing of every format the old scripts wrote, one canonical
//! output form (RFC 3339 UTC, seconds), and one clock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

pub type Timestamp = DateTime<Utc>;

/// The current time.
///
/// Test builds only (the `test-hooks` feature, see [`crate::store::test_hooks`]):
/// `SESSIONS_NOW` (RFC 3339) overrides it, so tests can show a lease expiring without
/// waiting for it. A release binary has no clock override any caller could set; the
/// only other shift is [`with_clock_shifted`], for library callers in-process.
pub fn now() -> Timestamp {
    let shift = SHIFT.with(std::cell::Cell::get);
    #[cfg(feature = "test-hooks")]
    if let Ok(fake) = std::env::var("SESSIONS_NOW")
        && let Some(t) = parse_str(&fake)
    {
        return t + shift;
    }
    Utc::now() + shift
}

/// The current time with sub-second precision (for IDs that sort by time). Follows
/// the test clock like [`now`].
pub fn now_precise() -> Timestamp {
    #[cfg(feature = "test-hooks")]
    if std::env::var_os("SESSIONS_NOW").is_some() {
        return now();
    }
    Utc::now() + SHIFT.with(std::cell::Cell::get)
}

/// Whether this build honours `SESSIONS_NOW` (only builds with the `test-clock`
/// feature do; a test checks that release builds do not).
pub const TEST_CLOCK: bool = cfg!(feature = "test-hooks");

thread_local! {
    static SHIFT: std::cell::Cell<chrono::Duration> = const { std::cell::Cell::new(chrono::Duration::zero()) };
}

/// Run `f` on this thread with [`now`] shifted by `by` (negative: in the past). For
/// library callers that act out a past moment in-process (`sessions demo` shows a
/// session that went quiet); nothing outside the process can shift the clock.
pub fn with_clock_shifted<T>(by: chrono::Duration, f: impl FnOnce() -> T) -> T {
    let before = SHIFT.with(|s| s.replace(by));
    let out = f();
    SHIFT.with(|s| s.set(before));
    out
}

/// Canonical form: `2025-11-15T21:49:14Z`.
pub fn format(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parse any timestamp the hub has seen: RFC 3339, `2025-11-15 19:28:00 UTC`,
/// `2025-11-15 19:28 UTC`, naive date-times (taken as UTC), dates, and unix seconds
/// (integer or float, as a number or a string).
pub fn parse_str(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = s
        .strip_suffix("UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s)
        .trim();
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    // `date -u`, as the original guides wrote it: `Sun Nov  2 00:45:46 UTC 2026`.
    let words = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(t) = NaiveDateTime::parse_from_str(&words, "%a %b %d %H:%M:%S UTC %Y") {
        return Some(Utc.from_utc_datetime(&t));
    }
    if let Ok(d) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return from_unix(secs);
    }
    None
}

fn from_unix(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Utc.timestamp_opt(secs.trunc() as i64, (secs.fract() * 1e9) as u32)
        .single()
}

/// Parse a JSON value holding a timestamp in any of the accepted forms.
pub fn parse_value(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => parse_str(s),
        Value::Number(n) => n.as_f64().and_then(from_unix),
        _ => None,
    }
}

/// "3m", "2h", "4d" style ages for people.
pub fn human_age(secs: i64) -> String {
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let text = match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
        _ => format!("{}d{:02}h", secs / 86_400, (secs % 86_400) / 3600),
    };
    format!("{sign}{text}")
}

/// The longest duration any argument or setting may ask for: ten years. Anything longer
/// is a typo, and it would overflow the clock arithmetic (`Instant + d` panics).
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(3650 * 86_400);

/// The one rule for every duration a person gives (command-line arguments and
/// `sessions.toml`): `30s`, `5m`, `2h`, `1d`, `90` (seconds), `1h30m`, `250ms`, more
/// than zero and at most [`MAX_DURATION`]. Zero would make an interval spin or panic.
pub fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    let d = parse_duration_text(s)
        .ok_or_else(|| format!("invalid duration {s:?}: use forms like 30s, 5m, 2h, 1d"))?;
    check_duration(d).map_err(|why| format!("invalid duration {s:?}: {why}"))
}

/// Check a duration already in numbers (a bare number of seconds in `sessions.toml`)
/// against the same bounds as [`parse_duration`].
pub fn check_duration(d: std::time::Duration) -> std::result::Result<std::time::Duration, String> {
    if d.is_zero() {
        Err("it must be more than zero (e.g. 1s)".into())
    } else if d > MAX_DURATION {
        Err("it must be at most 3650d (ten years)".into())
    } else {
        Ok(d)
    }
}

fn parse_duration_text(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let mut total_ms: u64 = 0;
    let mut digits = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit_ms = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
        any = true;
    }
    if !digits.is_empty() || !any {
        return None;
    }
    Some(std::time::Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixture_formats() {
        let want = parse_str("2025-11-15T19:28:00Z").unwrap();
        assert_eq!(parse_str("2025-11-15 19:28:00 UTC"), Some(want));
        assert_eq!(parse_str("2025-11-15 19:28 UTC"), Some(want));
        assert_eq!(parse_str("2025-11-15T19:28:00+00:00"), Some(want));
        assert_eq!(parse_str("2025-11-15 19:28:00"), Some(want));
        let unix = parse_value(&serde_json::json!(1763234880.566482)).unwrap();
        assert_eq!(unix.timestamp(), 1763234880);
        assert_eq!(parse_str("$(date -u +\"%Y\")"), None);
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn refuses_zero_and_absurd_durations() {
        for zero in ["0", "0s", "0ms", "0h0m", "00"] {
            let err = parse_duration(zero).unwrap_err();
            assert!(err.contains("more than zero"), "{zero}: {err}");
        }
        for huge in ["3651d", "99999999999d", "18446744073709551615"] {
            let err = parse_duration(huge).unwrap_err();
            assert!(
                err.contains("at most 3650d") || err.contains("use forms"),
                "{huge}: {err}"
            );
        }
        assert_eq!(parse_duration("3650d").unwrap(), MAX_DURATION);
        assert_eq!(parse_duration("1ms").unwrap().as_millis(), 1);
    }

    /// Run by `.ci/run` as `cargo test -p sessions-core --lib`, a build without the
    /// root package's dev-dependencies and so without `test-hooks`, like a release
    /// build: there `SESSIONS_NOW` must change nothing.
    #[test]
    fn sessions_now_moves_the_clock_only_in_test_builds() {
        // The variable is set in a child run of this same test (setting it here would
        // need `unsafe` and race the other tests' threads).
        let far_past = parse_str("2001-01-01T00:00:00Z").unwrap();
        let seen = std::env::var("SESSIONS_NOW")
            .ok()
            .and_then(|v| parse_str(&v));
        if seen == Some(far_past) {
            let moved = (now() - far_past).num_seconds().abs() < 5;
            assert_eq!(moved, cfg!(feature = "test-hooks"), "now() = {}", now());
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "store::time::tests::sessions_now_moves_the_clock_only_in_test_builds",
                "--exact",
                "--test-threads",
                "1",
            ])
            .env("SESSIONS_NOW", "2001-01-01T00:00:00Z")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }

    #[test]
    fn a_shifted_clock_is_shifted_on_this_thread_only() {
        let shift = chrono::Duration::minutes(-30);
        let inside = with_clock_shifted(shift, now);
        let gap = (Utc::now() - inside).num_seconds();
        assert!((1795..=1805).contains(&gap), "{gap}");
        assert!((Utc::now() - now()).num_seconds().abs() < 5);
    }
}
