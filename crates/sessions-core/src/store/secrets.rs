//! Refusing secrets in the shared folder (DESIGN §3.7). Everything the toolkit writes
//! into hub files from user text passes [`check`] first; `doctor` scans what is already
//! there with [`find_all`].
//!
//! A rule set in the style of gitleaks: each rule is a regex with keywords (a cheap
//! pre-filter: text holding none of a rule's keywords cannot match it) and, where the
//! rule is generic (a value after `password =`, a `Bearer` header, a password in a URL),
//! checks on the captured value: Shannon entropy, a mix of letters and digits, not a
//! placeholder, not a phrase of words. Rules with a fixed prefix (`sk_live_`, `AIza`,
//! `glpat-`, ...) need no such check. All rules run as one `RegexSet` pass; only the rules
//! that matched are run again to find where, and to check their values.

use std::sync::OnceLock;

use regex::{Captures, Regex, RegexSet};

use crate::store::error::{Error, Result};

/// One detection rule.
struct Rule {
    /// Stable identifier (gitleaks-style), shown by `doctor`.
    id: &'static str,
    /// What the refusal calls it ("a Stripe secret key").
    name: &'static str,
    regex: &'static str,
    /// Lower-case literals at least one of which every match contains.
    keywords: &'static [&'static str],
    /// For generic rules: accept or reject one match (the value is the `secret` group).
    accept: Option<fn(&Captures) -> bool>,
}

const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        name: "a private key",
        regex: r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
        keywords: &["private key"],
        accept: None,
    },
    Rule {
        id: "anthropic-api-key",
        name: "an Anthropic API key",
        regex: r"\bsk-ant-[A-Za-z0-9_-]{20,}",
        keywords: &["sk-ant-"],
        accept: None,
    },
    Rule {
        id: "openai-api-key",
        name: "an OpenAI API key",
        regex: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        keywords: &["sk-"],
        accept: Some(not_wordy_match),
    },
    Rule {
        id: "aws-access-key-id",
        name: "an AWS access key ID",
        regex: r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
        keywords: &["akia", "asia", "abia", "acca"],
        accept: None,
    },
    Rule {
        id: "aws-secret-access-key",
        name: "an AWS secret access key",
        regex: r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}"#,
        keywords: &["aws"],
        accept: None,
    },
    Rule {
        id: "github-token",
        name: "a GitHub token",
        regex: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        accept: None,
    },
    Rule {
        id: "gitlab-token",
        name: "a GitLab token",
        regex: r"\bgl(?:pat|ptt|dt|rt|cbt|oas|soat|ft)-[A-Za-z0-9_-]{20,}",
        keywords: &[
            "glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "gloas-", "glsoat-", "glft-",
        ],
        accept: None,
    },
    Rule {
        id: "slack-token",
        name: "a Slack token",
        regex: r"\bxox[abposre]-[A-Za-z0-9-]{10,}",
        keywords: &["xox"],
        accept: None,
    },
    Rule {
        id: "slack-app-token",
        name: "a Slack app token",
        regex: r"\bxapp-\d-[A-Z0-9]{6,}-\d{6,}-[a-z0-9]{20,}",
        keywords: &["xapp-"],
        accept: None,
    },
    Rule {
        id: "slack-webhook",
        name: "a Slack webhook",
        regex: r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}",
        keywords: &["hooks.slack.com"],
        accept: None,
    },
    Rule {
        id: "stripe-key",
        name: "a Stripe secret key",
        regex: r"\b[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,99}\b",
        keywords: &[
            "sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_",
        ],
        accept: None,
    },
    Rule {
        id: "gcp-api-key",
        name: "a Google API key",
        regex: r"\bAIza[A-Za-z0-9_-]{35}",
        keywords: &["aiza"],
        accept: None,
    },
    Rule {
        id: "npm-access-token",
        name: "an npm token",
        regex: r"\bnpm_[A-Za-z0-9]{36}\b",
        keywords: &["npm_"],
        accept: None,
    },
    Rule {
        id: "huggingface-access-token",
        name: "a Hugging Face token",
        regex: r"\b(?:hf_|api_org_)[A-Za-z]{34}\b",
        keywords: &["hf_", "api_org_"],
        accept: None,
    },
    Rule {
        id: "jwt",
        name: "a JSON Web Token",
        regex: r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        keywords: &["eyj"],
        accept: None,
    },
    Rule {
        id: "azure-storage-key",
        name: "an Azure account key",
        regex: r"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{20,}={0,2})",
        keywords: &["accountkey", "sharedaccesskey"],
        accept: Some(high_entropy_secret),
    },
    Rule {
        id: "url-credentials",
        name: "a password in a URL",
        regex: r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/?#@]{1,100}:(?P<secret>[^\s/?#@]{1,200})@[A-Za-z0-9\[]",
        keywords: &["://"],
        accept: Some(url_password),
    },
    Rule {
        id: "bearer-token",
        name: "a Bearer token",
        regex: r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
        keywords: &["bearer"],
        accept: Some(high_entropy_secret),
    },
    Rule {
        id: "generic-api-key",
        name: "a key or password assignment",
        // The keyword (`key`, `token`, `password`...) as the end of a name, the word
        // before it kept for `generic_assignment` (`idempotency key` is no credential),
        // then an assignment and the value.
        regex: r#"(?i)(?P<before>[A-Za-z0-9]{0,30})(?P<join>[ \t_.-]?)(?P<kw>api[_-]?key|apikey|secret|passw(?:or)?d|pwd|credentials?|key|token)(?P<tail>[A-Za-z0-9_.-]{0,20})["']?[ \t]{0,3}(?::{1,2}|=>|:=|=)[ \t]{0,3}["'`]?(?P<secret>[A-Za-z0-9_.=+/~!#%&*@^?-]{8,200})"#,
        keywords: &["key", "token", "secret", "passw", "pwd", "credential"],
        accept: Some(generic_assignment),
    },
];

/// Shannon entropy of `s` in bits per character (gitleaks' measure).
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Words joined by `-`, `_`, `.` or `/` (`build-linux-x86_64`, `users_table_id`,
/// `milestone-deploy-dashboard`): names, not secrets. A part counts as a word when it is
/// all lower case, all upper case, all digits, or short.
fn wordy(value: &str) -> bool {
    let parts: Vec<&str> = value
        .split(['-', '_', '.', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.len() <= 4
                || p.bytes().all(|b| b.is_ascii_lowercase())
                || p.bytes().all(|b| b.is_ascii_uppercase())
                || p.bytes().all(|b| b.is_ascii_digit())
        })
}

/// A value that looks generated rather than written: it mixes letters and digits
/// (`see-the-guide` and `12345678` do not), or it is long, mixed-case and high-entropy
/// (a random 28-letter token may hold a single digit).
fn random_looking(value: &str) -> bool {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let letters = value.bytes().filter(u8::is_ascii_alphabetic).count();
    let upper = value.bytes().any(|b| b.is_ascii_uppercase());
    let lower = value.bytes().any(|b| b.is_ascii_lowercase());
    (digits >= 2 && letters >= 4) || (value.len() >= 20 && upper && lower && entropy(value) >= 4.0)
}

/// Hex digits and dashes only: a UUID, a hash, a commit.
fn hex_like(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Template placeholders and masks: `${DB_PASSWORD}`, `<password>`, `****`, `xxxx`.
fn placeholder(value: &str) -> bool {
    value.starts_with(['$', '<', '{', '%'])
        || value
            .bytes()
            .all(|b| matches!(b, b'*' | b'x' | b'X' | b'.'))
}

fn secret<'t>(caps: &Captures<'t>) -> &'t str {
    caps.name("secret").map_or("", |m| m.as_str())
}

fn not_wordy_match(caps: &Captures) -> bool {
    !wordy(&caps[0])
}

fn high_entropy_secret(caps: &Captures) -> bool {
    let value = secret(caps).trim_end_matches('=');
    entropy(value) >= 3.5 && random_looking(value) && !wordy(value) && !placeholder(value)
}

fn url_password(caps: &Captures) -> bool {
    !placeholder(secret(caps))
}

/// Words that make `<word> key` / `<word> token` a credential when written as a phrase.
const CREDENTIAL_WORDS: &[&str] = &[
    "api",
    "access",
    "auth",
    "secret",
    "private",
    "client",
    "session",
    "refresh",
    "signing",
    "encryption",
    "master",
    "bearer",
    "app",
    "account",
    "service",
    "bot",
    "oauth",
    "personal",
    "webhook",
    "deploy",
    "admin",
    "license",
    "ssh",
    "gpg",
    "pgp",
    "id",
];

/// Words that make `<word>_key` a name of something that is no credential.
const NAME_WORDS: &[&str] = &[
    "cache",
    "primary",
    "foreign",
    "sort",
    "partition",
    "idempotency",
    "claim",
    "lookup",
    "map",
    "dedup",
    "dedupe",
    "index",
    "group",
    "routing",
    "shard",
    "public",
    "next",
    "page",
    "continuation",
    "cursor",
    "csrf",
];

fn generic_assignment(caps: &Captures) -> bool {
    let kw = caps["kw"].to_ascii_lowercase();
    let before = caps["before"].to_ascii_lowercase();
    let join = &caps["join"];
    let value = secret(caps);
    if placeholder(value) || wordy(value) {
        return false;
    }
    let password = kw.starts_with("passw") || kw == "pwd";
    let always_sensitive = password
        || kw.starts_with("secret")
        || kw.starts_with("credential")
        || kw.starts_with("api");
    // `<word> key: value` in prose, the word no credential word (`use token: ...`): only
    // a value that cannot be a name counts (`idempotency key: <uuid>` is an identifier).
    let mut strict = false;
    if !always_sensitive && !before.is_empty() {
        if NAME_WORDS.contains(&before.as_str()) {
            // `cache key=...`, `CACHE_KEY=...`, `primary_key: ...`: names, not credentials.
            return false;
        }
        let phrase = join == " " || join == "\t";
        strict = phrase && !CREDENTIAL_WORDS.contains(&before.as_str());
    }
    let value = value.trim_end_matches('=');
    if strict {
        return !hex_like(value)
            && value.len() >= 20
            && entropy(value) >= 4.0
            && random_looking(value);
    }
    if password {
        // Passwords are short and less random than keys, but never a single word.
        entropy(value) >= 2.5 && value.bytes().any(|b| !b.is_ascii_alphabetic())
    } else {
        entropy(value) >= 3.5 && random_looking(value)
    }
}

fn compiled() -> &'static (RegexSet, Vec<OnceLock<Regex>>) {
    static SET: OnceLock<(RegexSet, Vec<OnceLock<Regex>>)> = OnceLock::new();
    SET.get_or_init(|| {
        let set = RegexSet::new(RULES.iter().map(|r| r.regex)).expect("secret rules are valid");
        (set, RULES.iter().map(|_| OnceLock::new()).collect())
    })
}

fn rule_regex(index: usize) -> &'static Regex {
    compiled().1[index]
        .get_or_init(|| Regex::new(RULES[index].regex).expect("secret rules are valid"))
}

/// Lower-case like the regexes' `(?i)` folds ASCII letters (the Kelvin sign folds to `k`
/// through to_lowercase, the long s to `s`), for the keyword pre-filter.
fn folded(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ſ' { 's' } else { c })
        .collect()
}

/// One secret found: the rule's id and description, and where (1-based line/column).
/// The secret itself is deliberately not part of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub rule: &'static str,
    pub name: &'static str,
    pub line: usize,
    pub column: usize,
}

/// Every secret in `text`, in order of position (at most one per rule and line).
pub fn find_all(text: &str) -> Vec<Found> {
    let lower = folded(text);
    let candidates: Vec<usize> = (0..RULES.len())
        .filter(|&i| RULES[i].keywords.iter().any(|k| lower.contains(k)))
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let matched = compiled().0.matches(text);
    let mut out: Vec<(usize, usize)> = Vec::new(); // (byte offset, rule)
    for i in candidates.into_iter().filter(|&i| matched.matched(i)) {
        for caps in rule_regex(i).captures_iter(text) {
            if RULES[i].accept.is_none_or(|accept| accept(&caps)) {
                let at = caps.get(0).map_or(0, |m| m.start());
                out.push((at, i));
            }
        }
    }
    out.sort();
    let mut found: Vec<Found> = Vec::new();
    for (at, i) in out {
        let (line, column) = crate::store::config::line_col(text, at);
        let seen = found
            .iter()
            .any(|f| f.line == line && f.rule == RULES[i].id);
        if !seen {
            found.push(Found {
                rule: RULES[i].id,
                name: RULES[i].name,
                line,
                column,
            });
        }
    }
    found
}

/// The name of the first secret format found in `text`, with its 1-based line/column.
pub fn find(text: &str) -> Option<(&'static str, usize, usize)> {
    find_all(text)
        .into_iter()
        .next()
        .map(|f| (f.name, f.line, f.column))
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
    fn every_rule_compiles_alone_and_in_the_set() {
        for i in 0..RULES.len() {
            let _ = rule_regex(i);
        }
        assert_eq!(compiled().0.len(), RULES.len());
    }

    #[test]
    fn keywords_are_lower_case() {
        for rule in RULES {
            for k in rule.keywords {
                assert_eq!(*k, k.to_lowercase(), "{}", rule.id);
            }
        }
    }

    #[test]
    fn prefilter_keeps_case_insensitive_matches() {
        assert!(find("PASSWORD = Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
        assert!(find("\u{212A}ey: Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
        assert!(find("ſecret: Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5").is_some());
        assert!(find_all("deploy the dashboard to port 8004").is_empty());
    }

    #[test]
    fn entropy_is_shannon() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn wordy_values_are_names() {
        assert!(wordy("build-linux-x86_64"));
        assert!(wordy("users_table_id"));
        assert!(wordy("milestone-deploy-dashboard"));
        assert!(!wordy("Zk3m9Qx7Lp2Vb8Nw4Rt6Yh1Jd5"));
        assert!(!wordy("3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"));
    }
}
