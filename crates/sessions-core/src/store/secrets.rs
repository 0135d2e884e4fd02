//! Refusing secrets in the shared folder (DESIGN §3.7). Everything the toolkit writes
//! into hub files from user text passes [`check`] first.

use std::sync::OnceLock;

use regex::Regex;

use crate::store::error::{Error, Result};

struct Pattern {
    name: &'static str,
    regex: Regex,
}

fn patterns() -> &'static [Pattern] {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            ("an Anthropic API key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
            ("an OpenAI API key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
            ("an AWS access key ID", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
            (
                "an AWS secret access key",
                r"(?i)aws_?secret_?access_?key\s*[:=]\s*['\x22]?[A-Za-z0-9/+=]{40}",
            ),
            ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
            ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
            ("a Slack webhook", r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+"),
            ("a private key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
            (
                "a key or password assignment",
                r#"(?i)(?:\b|_)(?:api[_\-]?key|secret(?:[_\-]?key)?|access[_\-]?token|auth[_\-]?token|token|password|passwd|private[_\-]?key|key)\b["']?\s*[:=]\s*["']?([A-Za-z0-9_\-/+=.]{20,})"#,
            ),
        ]
        .into_iter()
        .map(|(name, re)| Pattern {
            name,
            regex: Regex::new(re).expect("secret patterns are valid"),
        })
        .collect()
    })
}

/// A long value counts as random when it mixes letters and digits; this keeps
/// `key: see-the-deployment-guide-for-details` from tripping the generic rule.
fn looks_random(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let letters = value.chars().filter(char::is_ascii_alphabetic).count();
    digits >= 2 && letters >= 4
}

/// Literals at least one of which every pattern needs (lower-cased). Text with none of
/// them cannot match, and skipping the regexes then saves compiling them: about a
/// millisecond of every `msg send`.
const TRIGGERS: [&str; 17] = [
    "sk-",
    "akia",
    "asia",
    "aws",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "hooks.slack.com",
    "private key",
    "key",
    "token",
    "secret",
    "passw",
];

fn may_hold_secret(text: &str) -> bool {
    // Case-fold like the regexes' `(?i)` does for ASCII letters (the Kelvin sign folds
    // to `k` through to_lowercase, the long s to `s`).
    let lower: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ſ' { 's' } else { c })
        .collect();
    TRIGGERS.iter().any(|t| lower.contains(t))
}

/// The name of the first secret format found in `text`, with its 1-based line/column.
pub fn find(text: &str) -> Option<(&'static str, usize, usize)> {
    if !may_hold_secret(text) {
        return None;
    }
    for pattern in patterns() {
        for caps in pattern.regex.captures_iter(text) {
            if let Some(value) = caps.get(1)
                && !looks_random(value.as_str())
            {
                continue;
            }
            let at = caps.get(0).map_or(0, |m| m.start());
            let (line, column) = crate::store::config::line_col(text, at);
            return Some((pattern.name, line, column));
        }
    }
    None
}

/// Refuse `text` (destined for `what`, e.g. "the message body") if it holds a secret.
pub fn check(what: &str, text: &str) -> Result<()> {
    match find(text) {
        None => Ok(()),
        Some((name, line, column)) => Err(Error::Refused(format!(
            "refused: {what} contains what looks like {name} (line {line}, column {column}); \
             nothing was written.\n  Remove the secret (keep it in an environment variable or a secret store), \
             or pass --allow-secrets if it is not a secret"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_known_formats() {
        let fake_anthropic = format!("sk-ant-api03-{}", "aB3dE5fG7hJ9kL1mN2pQ4rS6");
        assert!(find(&fake_anthropic).is_some());
        assert!(find(&format!("AKIA{}", "ABCDEFGHIJKLMNOP")).is_some());
        assert!(find(&format!("ghp_{}", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8")).is_some());
        assert!(find("-----BEGIN RSA PRIVATE KEY-----").is_some());
        assert!(find("API_KEY=Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
    }

    #[test]
    fn prefilter_keeps_case_insensitive_matches() {
        assert!(find("PASSWORD = Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
        assert!(find("\u{212A}ey: Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
        assert!(find("ſecret: Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
        assert!(!may_hold_secret("deploy the dashboard to port 8004"));
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        assert!(find("Deploy the dashboard, see key: the-deployment-guide-for-details").is_none());
        assert!(find("session-1-dashboard claimed milestone-deploy-dashboard").is_none());
        assert!(find("task-list token: none").is_none());
    }
}
