//! Validation of every ID and key that becomes part of a file name (DESIGN §3.6).

use crate::store::error::{Error, Result};

/// Longest ID or key accepted; long enough for `milestone-<title slug>`, short enough
/// for every file system's name limit once suffixes are added.
pub const MAX_ID_LEN: usize = 128;

/// Accept `[A-Za-z0-9][A-Za-z0-9._-]*`, at most [`MAX_ID_LEN`] bytes, never `.` or `..`.
/// `what` names the thing in the error ("session ID", "claim key", ...).
pub fn validate<'a>(what: &'static str, value: &'a str) -> Result<&'a str> {
    let refuse = |reason| {
        Err(Error::InvalidId {
            what,
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() {
        return refuse("it is empty");
    }
    if value.len() > MAX_ID_LEN {
        return refuse("it is longer than 128 characters");
    }
    if value == "." || value == ".." {
        return refuse("`.` and `..` are not names");
    }
    let mut chars = value.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return refuse("it must start with a letter or digit");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return refuse(
            "use only letters, digits, `.`, `_` and `-` (no `/`, spaces or control characters)",
        );
    }
    Ok(value)
}

/// Turn a free title into an ID: lower case, runs of other characters become `-`.
/// Used for milestone IDs ("Deploy Dashboard" -> "deploy-dashboard").
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug.truncate(MAX_ID_LEN - 16);
    slug
}

/// A new ID that is unique across processes and machines and sorts by creation time:
/// `<prefix>-<UTC yyyymmddThhmmss.mmm>-<12 random hex digits>`. The random part comes
/// from std's randomly keyed hasher, so no extra dependency is needed for it.
pub fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = crate::store::time::now_precise();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    let random = hasher.finish() & 0xffff_ffff_ffff;
    format!(
        "{prefix}-{}-{random:012x}",
        now.format("%Y%m%dT%H%M%S%.3fZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_path_tricks() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc/passwd",
            "a/b",
            "a\0b",
            "a\nb",
            "-x",
            ".hidden",
        ] {
            assert!(validate("session ID", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["session-1-dashboard", "a", "A.b_c-9"] {
            assert!(validate("session ID", good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn slugify_titles() {
        assert_eq!(
            slugify("Deploy Dashboard to Server"),
            "deploy-dashboard-to-server"
        );
        assert_eq!(slugify("  Fix: the API!! "), "fix-the-api");
    }
}

/// The known name a probable typo of `word` meant: the closest within two edits
/// (case-insensitive), else the only one `word` is a prefix of. `None` when `word` is
/// itself known or nothing is close. Used by every "did you mean" warning.
pub fn near_match<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let known: Vec<&str> = known.into_iter().collect();
    if known.iter().any(|k| k.to_lowercase() == word) {
        return None;
    }
    let closest = known
        .iter()
        .map(|k| (edit_distance(&word, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    closest.or_else(|| {
        let prefixed: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| !word.is_empty() && k.to_lowercase().starts_with(&word))
            .collect();
        (prefixed.len() == 1).then(|| prefixed[0])
    })
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != *cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// The part of an ID that tells it apart: after the kind prefix (`m-`, `collab-`), so
/// `20261130T0637` (a time prefix) and `3f9a` (a suffix of the random part) both work.
fn unique_part(id: &str) -> &str {
    match id.split_once('-') {
        Some((kind, rest)) if kind.chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => id,
    }
}

/// Resolve an ID a person typed, like git's short hashes: the whole ID, else the one
/// `known` ID whose unique part (or whole ID) starts with `typed`, or that ends with it.
/// No match is not-found (with `list_with`, the command that lists them); several are a
/// usage error naming the candidates, so the person types more. Used by every command
/// that takes a message, collaboration or proposal ID.
pub fn resolve<'a>(
    what: &'static str,
    typed: &str,
    known: impl IntoIterator<Item = &'a str>,
    list_with: &str,
) -> Result<&'a str> {
    let known: Vec<&'a str> = known.into_iter().collect();
    if let Some(exact) = known.iter().find(|k| **k == typed) {
        return Ok(exact);
    }
    let want = typed.to_ascii_lowercase();
    let mut hits: Vec<&'a str> = if want.is_empty() {
        Vec::new()
    } else {
        known
            .iter()
            .copied()
            .filter(|k| {
                let k = k.to_ascii_lowercase();
                k.starts_with(&want) || unique_part(&k).starts_with(&want) || k.ends_with(&want)
            })
            .collect()
    };
    hits.sort_unstable();
    hits.dedup();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::NotFound {
            what,
            name: format!("{typed} (see `{list_with}`)"),
        }),
        many => {
            const SHOWN: usize = 8;
            let mut names = many[..many.len().min(SHOWN)].join(", ");
            if many.len() > SHOWN {
                names.push_str(&format!(" and {} more", many.len() - SHOWN));
            }
            Err(Error::Usage(format!(
                "{typed:?} matches {} {what}s: {names}; type more of the ID",
                many.len()
            )))
        }
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::resolve;

    const SAME_SECOND: [&str; 3] = [
        "m-20261130T063711.123Z-0a1b2c3d4e5f",
        "m-20261130T063711.456Z-9f8e7d6c5b4a",
        "m-20261130T063712.001Z-0a1bffffffff",
    ];

    #[test]
    fn a_unique_prefix_or_suffix_of_the_unique_part_resolves() {
        let r = |t| resolve("message", t, SAME_SECOND, "sessions msg list");
        assert_eq!(
            r("m-20261130T063711.123Z-0a1b2c3d4e5f").unwrap(),
            SAME_SECOND[0]
        );
        assert_eq!(r("5b4a").unwrap(), SAME_SECOND[1], "suffix");
        assert_eq!(r("20261130T063712").unwrap(), SAME_SECOND[2], "time prefix");
        assert_eq!(
            r("m-20261130T063711.4").unwrap(),
            SAME_SECOND[1],
            "whole-ID prefix"
        );
        assert_eq!(r("4E5F").unwrap(), SAME_SECOND[0], "case does not matter");
        let err = r("20261130T063711").unwrap_err().to_string();
        assert!(err.contains("matches 2 messages"), "{err}");
        assert!(
            err.contains(SAME_SECOND[0]) && err.contains(SAME_SECOND[1]),
            "{err}"
        );
        assert!(
            r("beef")
                .unwrap_err()
                .to_string()
                .contains("sessions msg list")
        );
        assert!(r("").is_err());
    }
}

#[cfg(test)]
mod near_match_tests {
    use super::near_match;

    #[test]
    fn suggests_the_closest_known_name_only_for_unknown_words() {
        let known = ["s2", "session-1", "SERVICES", "infra"];
        assert_eq!(near_match("s22", known), Some("s2"));
        assert_eq!(near_match("SERVCES", known), Some("SERVICES"));
        assert_eq!(near_match("sess", known), Some("session-1"));
        assert_eq!(near_match("s2", known), None, "known: no suggestion");
        assert_eq!(near_match("Infra", known), None, "case-insensitive");
        assert_eq!(near_match("nobody-here", known), None);
    }
}
