//! Issue 11: file reservations (claims on paths and globs), overlap both ways, and
//! exclusivity under a race of real processes.

use std::process::Stdio;

use serde_json::Value;

use crate::support::*;

fn repo(hub: &TestHub) -> std::path::PathBuf {
    hub.root.parent().unwrap().to_path_buf()
}

/// `sessions --as <who> <args>` run from the repository root.
fn as_in_repo(hub: &TestHub, who: &str, args: &[&str]) -> std::process::Output {
    hub.command("sessions")
        .current_dir(repo(hub))
        .arg("--as")
        .arg(who)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn reserve_refuses_overlaps_both_ways_and_names_the_holder() {
    let hub = TestHub::new();
    std::fs::create_dir_all(repo(&hub).join("src/api")).unwrap();
    let out = as_in_repo(
        &hub,
        "b",
        &["--json", "reserve", "src/api/", "--reason", "API rework"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let grants: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        grants[0]["pattern"], "src/api/**",
        "a folder means all of it"
    );
    let token = grants[0]["grant"]["token"].as_u64().unwrap();
    assert!(token > 0);

    // A file inside, and a wider glob around it: both refused, naming b and the glob.
    for wanted in ["src/api/x.rs", "src/**"] {
        let out = as_in_repo(&hub, "a", &["reserve", wanted]);
        assert_eq!(out.status.code(), Some(1), "{wanted}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("reserved by b") && err.contains("src/api/**"),
            "{err}"
        );
        assert!(err.contains("API rework"), "the reason is shown: {err}");
    }
    // Elsewhere is fine; shared overlapping with exclusive is not.
    assert!(
        as_in_repo(&hub, "a", &["reserve", "src/web/y.rs"])
            .status
            .success()
    );
    let out = as_in_repo(&hub, "a", &["reserve", "--shared", "src/api/z.rs"]);
    assert_eq!(out.status.code(), Some(1));

    // Shared with shared is allowed.
    assert!(
        as_in_repo(&hub, "c", &["reserve", "--shared", "docs/**"])
            .status
            .success()
    );
    assert!(
        as_in_repo(&hub, "d", &["reserve", "--shared", "docs/*.md"])
            .status
            .success()
    );
    assert_eq!(
        as_in_repo(&hub, "e", &["reserve", "docs/a.md"])
            .status
            .code(),
        Some(1)
    );

    let list = hub.json(&["reservations"]);
    let patterns: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(patterns.len(), 4, "{list}");
    for p in ["src/api/**", "src/web/y.rs", "docs/**", "docs/*.md"] {
        assert!(patterns.contains(&p), "{p} in {patterns:?}");
    }
    // They are claims too: `sessions claims` lists them with their holder.
    let claims = hub.json(&["claims"]);
    let key = grants[0]["grant"]["key"].as_str().unwrap();
    let claim = claims["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("{key} in {claims}"));
    assert_eq!(
        (claim["holder"].as_str(), claim["kind"].as_str()),
        (Some("b"), Some("files"))
    );

    // Unreserve: only mine; then a can take it.
    let out = as_in_repo(&hub, "a", &["unreserve", "src/api/"]);
    assert_eq!(out.status.code(), Some(1), "not a's to release");
    assert!(as_in_repo(&hub, "b", &["unreserve"]).status.success());
    assert!(
        as_in_repo(&hub, "a", &["reserve", "src/api/x.rs"])
            .status
            .success()
    );
}

#[test]
fn reserve_refuses_a_path_outside_the_repository() {
    let hub = TestHub::new();
    let outside = tempfile::tempdir().unwrap();
    for path in [
        outside.path().join("x.rs").to_string_lossy().into_owned(),
        "../../etc/passwd".into(),
    ] {
        let out = as_in_repo(&hub, "a", &["reserve", &path]);
        assert_eq!(out.status.code(), Some(6), "{path}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("outside the repository"),
            "{}",
            stderr(&out)
        );
    }
    assert!(hub.json(&["reservations"]).as_array().unwrap().is_empty());
}

/// 16 processes reserve overlapping globs at the same instant: never two exclusive
/// holders of overlapping paths, and every refusal names a real winner.
#[test]
fn sixteen_racing_reservers_never_both_hold_overlapping_paths() {
    let hub = TestHub::new();
    let globs = [
        "src/**",
        "src/api/**",
        "src/api/x.rs",
        "src/*.rs",
        "src/lib.rs",
        "src/web/**",
        "**/*.rs",
        "docs/**",
    ];
    let children: Vec<_> = (0..16)
        .map(|i| {
            hub.command("sessions")
                .current_dir(repo(&hub))
                .args([
                    "--json",
                    "--as",
                    &format!("agent{i}"),
                    "reserve",
                    globs[i % globs.len()],
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut winners = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => winners.push((format!("agent{i}"), globs[i % globs.len()])),
            Some(1) => assert!(
                stderr(&out).contains("reserved by agent"),
                "{}",
                stderr(&out)
            ),
            other => panic!("agent{i}: exit {other:?}: {}", stderr(&out)),
        }
    }
    assert!(!winners.is_empty());
    let held = hub.json(&["reservations"]);
    let held: Vec<(String, String)> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["holder"].as_str().unwrap().to_string(),
                r["pattern"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(held.len(), winners.len(), "{held:?} vs {winners:?}");
    for (i, (ha, pa)) in held.iter().enumerate() {
        for (hb, pb) in &held[i + 1..] {
            assert!(
                ha == hb || !globs_overlap(pa, pb),
                "{ha} holds {pa} and {hb} holds {pb}: they overlap"
            );
        }
    }
}

/// The overlap facts this test's globs need, written out (not the code under test).
fn globs_overlap(a: &str, b: &str) -> bool {
    let disjoint = [
        ("src/api/**", "src/*.rs"),
        ("src/api/**", "src/lib.rs"),
        ("src/api/**", "src/web/**"),
        ("src/api/**", "docs/**"),
        ("src/api/x.rs", "src/*.rs"),
        ("src/api/x.rs", "src/lib.rs"),
        ("src/api/x.rs", "src/web/**"),
        ("src/api/x.rs", "docs/**"),
        ("src/*.rs", "src/web/**"),
        ("src/*.rs", "docs/**"),
        ("src/lib.rs", "src/web/**"),
        ("src/lib.rs", "docs/**"),
        ("src/web/**", "docs/**"),
        ("src/**", "docs/**"),
    ];
    a == b
        || !disjoint
            .iter()
            .any(|(x, y)| (x, y) == (&a, &b) || (x, y) == (&b, &a))
}
