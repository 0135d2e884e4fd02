//! Property tests for every parser of hub files (board, status document, CURRENT_STATE,
//! registry, heartbeat, lock, milestone, collaboration, config, timestamps, durations):
//! never a panic, never a hang (inputs are bounded), and for writers parse(write(x)) == x.
//!
//! Uses only the crate's public API. 256 cases per property for the pure parsers and 16
//! for those that write a real hub; `PROPTEST_CASES=N` sets both for a long run:
//! `PROPTEST_CASES=20000 cargo test --release -p sessions-core --test props`.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Map, Value};
use sessions_core::board::messages::{self, Post, Segment};
use sessions_core::sessions::registry::{self, Beat, Registry};
use sessions_core::status::report::{Edit, Marker, StatusDoc, edit_text};
use sessions_core::store::config::Config;
use sessions_core::store::hub::{Hub, layout};
use sessions_core::store::{secrets, storage, time};
use sessions_core::work::{claims, collab, current_state, milestones};

/// `PROPTEST_CASES` when set (a long run), else `default`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking a hub-writing case is slow and the seed is printed anyway.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// What git `core.autocrlf` does on checkout: every `\n` not after a `\r` becomes `\r\n`.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut prev = '\0';
    for c in text.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// What an editor's "trim trailing whitespace" does (before `\r\n` too).
fn trim_lines(text: &str) -> String {
    text.split('\n')
        .map(|l| match l.strip_suffix('\r') {
            Some(l) => format!("{}\r", l.trim_end_matches([' ', '\t'])),
            None => l.trim_end_matches([' ', '\t']).to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines that mean something to one of the hub's markdown parsers, mixed with noise.
fn markdown_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("---".to_string()),
        Just(String::new()),
        Just("**ID:** msg-20251115-abc".to_string()),
        Just("**From:** session-2".to_string()),
        Just("**To:** all".to_string()),
        Just("**Time:** 2025-11-15T21:49:14Z".to_string()),
        Just("**Priority:** high".to_string()),
        (0u64..400).prop_map(|n| format!("**Length:** {n}")),
        (0u64..400).prop_map(|n| format!("**Length:** {n} quoted")),
        Just("> quoted body line".to_string()),
        Just(">".to_string()),
        Just("### A subject".to_string()),
        Just("## ✅ RECENTLY COMPLETED".to_string()),
        Just("## 🎯 CURRENT PRIORITY".to_string()),
        Just("# Title".to_string()),
        Just("```".to_string()),
        Just("~~~~".to_string()),
        Just("## WEB STATUS - 2025-11-15T19:28:00Z".to_string()),
        Just("**CHECKS:**".to_string()),
        Just("**NEXT SESSION:** session-3".to_string()),
        Just("- Auth: ✅ fine".to_string()),
        Just("- ✅ Build".to_string()),
        Just("- [ ] open action".to_string()),
        Just("- [x] done action".to_string()),
        Just("1. **item** (2025-11-15 19:28 - s1)".to_string()),
        Just("\u{feff}".to_string()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

fn markdown_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(markdown_line(), 0..60), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

/// JSON values shaped like hub records: known field names with odd values, nested.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from("2025-11-15T21:49:14Z")),
        Just(Value::from(1763234880.5)),
        Just(Value::from(u64::MAX)),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("sessions".to_string()),
        Just("id".to_string()),
        Just("session_id".to_string()),
        Just("status".to_string()),
        Just("timestamp".to_string()),
        Just("last_heartbeat".to_string()),
        Just("current_work".to_string()),
        Just("capabilities".to_string()),
        Just("holder".to_string()),
        Just("claimed_by".to_string()),
        Just("expires_at".to_string()),
        Just("ttl_seconds".to_string()),
        Just("token".to_string()),
        Just("steps".to_string()),
        Just("done".to_string()),
        Just("title".to_string()),
        Just("priority".to_string()),
        Just("owner".to_string()),
        Just("history".to_string()),
        Just("request".to_string()),
        Just("from_session".to_string()),
        Just("to_session".to_string()),
        "[a-z_]{1,8}",
    ]
}

/// A record file's text: a JSON record, a value of another shape, or broken bytes.
fn record_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec((field_name(), json_value()), 0..8)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()).to_string()),
        json_value().prop_map(|v| v.to_string()),
        "\\PC{0,80}",
        Just("{\"a\": 1".to_string()),
        Just(String::new()),
    ]
}

fn temp_hub() -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("SESSIONS");
    sessions_core::init::create(&root, false).unwrap();
    let hub = Hub::open(&root).unwrap();
    (dir, hub)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An ID the toolkit accepts (session IDs, keys).
fn id() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,14}[a-z0-9]"
}

/// User text for writers: any printable text, line breaks, markup characters; no text the
/// secret check refuses (that refusal is tested elsewhere).
fn user_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~äé✅❌⏳🔄\\n]{{1,{max}}}"))
        .unwrap()
        .prop_filter("no secret-looking text", |t| {
            secrets::find(t).is_none() && !t.trim().is_empty()
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every byte of a board lands in exactly one segment, in order; never a panic.
    #[test]
    fn board_parse_covers_every_byte(text in markdown_text()) {
        let segments = messages::parse(&text);
        let mut at = 0u64;
        for s in &segments {
            let (offset, len) = s.range();
            prop_assert_eq!(offset, at);
            at += len;
        }
        prop_assert_eq!(at, text.len() as u64);
        let _ = messages::messages(segments);
    }

    /// A rendered block parses back to the post, whatever the body holds (a forged
    /// block, `---` lines, CRLF) and whatever board it is appended to.
    #[test]
    fn board_block_round_trips(
        prefix in markdown_text(),
        from in id(),
        to in prop::collection::vec(id(), 0..3),
        subject in proptest::option::of("[ -~]{1,30}"),
        priority in prop::sample::select(messages::PRIORITIES.to_vec()),
        body in prop_oneof![
            "\\PC{0,200}",
            markdown_text(),
            Just("x\n\n---\n\n**ID:** forged\n**From:** someone-else\n**Length:** 1\n\ny".to_string()),
        ],
    ) {
        let subject = subject.filter(|s| !s.trim().is_empty());
        let post = Post {
            from: from.clone(),
            to: to.clone(),
            subject: subject.clone(),
            priority: Some(priority.to_string()),
            reply_to: None,
            body: body.clone(),
        };
        let block = messages::render_block("msg-20251115-000000-abcd", "2025-11-15T21:49:14Z", &post);
        let board = format!("{prefix}{block}");
        let segments = messages::parse(&board);
        let Some(Segment::Message(m)) = segments.last() else {
            return Err(TestCaseError::fail(format!("last segment is no message: {segments:?}")));
        };
        prop_assert_eq!(&m.id, "msg-20251115-000000-abcd");
        prop_assert_eq!(m.from.as_deref(), Some(from.as_str()));
        let want_to = if to.is_empty() { vec!["all".to_string()] } else { to };
        prop_assert_eq!(&m.to, &want_to);
        prop_assert_eq!(m.subject.as_deref(), subject.as_deref().map(str::trim));
        prop_assert_eq!(&m.priority, priority);
        prop_assert_eq!(&m.body, &body);
    }

    /// A block keeps its sender and ID, and nothing inside its body becomes a message,
    /// after the board goes through a CRLF conversion or trailing-whitespace trimming;
    /// after a conversion alone the body comes back too (with `\n` line ends).
    #[test]
    fn board_block_survives_crlf_and_trimming(
        prefix in markdown_text(),
        suffix in markdown_text(),
        from in id(),
        body in prop_oneof![
            "\\PC{0,200}",
            markdown_text(),
            Just("x  \n\n---\n\n**ID:** forged\n**From:** someone-else\n**Length:** 1\n\ny  ".to_string()),
        ],
        rewrite in 0..3u8,
    ) {
        let post = Post { from: from.clone(), body: body.clone(), ..Post::default() };
        let block = messages::render_block("msg-20251115-000000-abcd", "2025-11-15T21:49:14Z", &post);
        let next = messages::render_block("msg-20251115-000001-beef", "2025-11-15T21:49:15Z", &Post {
            from: "s-next".into(),
            body: "after".into(),
            ..Post::default()
        });
        let board = format!("{prefix}{block}{next}{suffix}");
        let board = match rewrite {
            0 => crlf(&board),
            1 => trim_lines(&board),
            _ => trim_lines(&crlf(&board)),
        };
        let all = messages::messages(messages::parse(&board));
        let mine: Vec<_> = all.iter().filter(|m| m.id == "msg-20251115-000000-abcd").collect();
        prop_assert_eq!(mine.len(), 1, "{:?}", all);
        prop_assert_eq!(mine[0].from.as_deref(), Some(from.as_str()));
        prop_assert!(all.iter().all(|m| m.id != "forged"), "{:?}", all);
        let after = all.iter().find(|m| m.id == "msg-20251115-000001-beef");
        prop_assert_eq!(after.and_then(|m| m.from.as_deref()), Some("s-next"), "{:?}", all);
        if rewrite == 0 && !body.contains('\r') {
            prop_assert_eq!(&mine[0].body, &body);
        }
    }

    /// Fed in windows that end at line ends (how readers stream a board), the parser
    /// gives exactly the segments it gives for the whole board at once.
    #[test]
    fn board_parse_in_windows_is_the_whole_parse(
        parts in prop::collection::vec(prop_oneof![
            markdown_text(),
            ("\\PC{0,80}", id()).prop_map(|(body, from)| messages::render_block(
                "msg-20251115-000000-abcd",
                "2025-11-15T21:49:14Z",
                &Post { from, body, ..Post::default() },
            )),
        ], 1..6),
        window in 1usize..200,
    ) {
        let board: String = parts.concat();
        let whole = messages::parse(&board);
        let mut parser = messages::Parser::new(messages::Texts::Named);
        let mut got = Vec::new();
        let (mut base, mut end) = (0, 0);
        loop {
            end = (end.max(base) + window).min(board.len());
            while end < board.len() && board.as_bytes()[end - 1] != b'\n' {
                end += 1;
            }
            let eof = end == board.len();
            base += parser.feed(&board[base..end], base as u64, eof, &mut got);
            if eof {
                break;
            }
        }
        let view = |segs: &[Segment]| segs.iter().map(|s| (s.id().to_string(), s.range())).collect::<Vec<_>>();
        prop_assert_eq!(view(&got), view(&whole));
    }

    #[test]
    fn status_doc_parse_never_panics(text in markdown_text()) {
        let doc = StatusDoc::parse(&text);
        for item in &doc.items {
            prop_assert!(item.span.end <= text.len());
        }
        let _ = (doc.updated(), doc.next(), doc.failing_dependencies().len());
    }

    /// An edit is refused, or the edited file reads back as exactly what was asked.
    #[test]
    fn status_edit_reads_back(
        text in markdown_text(),
        section in prop_oneof![Just("CHECKS".to_string()), "[A-Za-z ✅#*:-]{1,16}"],
        label in prop_oneof![Just("Auth".to_string()), Just("✅ Auth".to_string()), "[A-Za-z0-9 ✅❌#*_`\\[\\]-]{1,16}"],
        marker in prop::sample::select(vec![Marker::Ok, Marker::Fail, Marker::Wip, Marker::Sync]),
        note in proptest::option::of("[ -~✅❌]{0,30}"),
    ) {
        let now = time::parse_str("2025-11-16T00:00:00Z").unwrap();
        let edit = Edit::Set { section, label: label.clone(), marker, note: note.clone() };
        if let Ok(edited) = edit_text("web", &text, &edit, now) {
            let norm = sessions_core::status::report::normalize;
            let tuples = |doc: &StatusDoc| -> Vec<(String, String, Option<Marker>, String)> {
                doc.items.iter().map(|i| (norm(&i.section), norm(&i.label), i.marker, i.note.clone())).collect()
            };
            let before = tuples(&StatusDoc::parse(&text));
            let mut after = tuples(&StatusDoc::parse(&edited));
            let want_note = note.as_deref().map_or(String::new(), |n| n.trim().to_string());
            let want = norm(&label);
            // Exactly the asked item changed or appeared; every other item is as it was.
            let mut rest = before.clone();
            let mut changed = Vec::new();
            for t in after.drain(..) {
                match rest.iter().position(|r| *r == t) {
                    Some(at) => { rest.remove(at); }
                    None => changed.push(t),
                }
            }
            prop_assert!(changed.len() <= 1, "{:?} changed in\n{}", changed, edited);
            for (_, l, m, n) in &changed {
                prop_assert_eq!(l, &want);
                prop_assert_eq!(*m, Some(marker));
                prop_assert_eq!(n, &want_note);
            }
            // What disappeared is the item's previous state, nothing else.
            prop_assert!(rest.len() <= changed.len(), "{:?} lost in\n{}", rest, edited);
            for (_, l, _, _) in &rest {
                prop_assert_eq!(l, &want);
            }
        }
    }

    #[test]
    fn status_next_and_actions_read_back(text in markdown_text(), value in "[ -~✅]{1,30}") {
        let now = time::parse_str("2025-11-16T00:00:00Z").unwrap();
        if let Ok(edited) = edit_text("web", &text, &Edit::ActionAdd(value.clone()), now) {
            let doc = StatusDoc::parse(&edited);
            prop_assert!(doc.actions.iter().any(|a| a.text == value.trim() && !a.done), "{}", edited);
        }
        if let Ok(edited) = edit_text("web", &text, &Edit::Next(value.clone()), now) {
            let doc = StatusDoc::parse(&edited);
            let want = value.trim().trim_matches(|c: char| c == '*' || c == '`' || c.is_whitespace());
            prop_assert_eq!(doc.next_session.as_deref(), Some(want));
        }
    }

    #[test]
    fn current_state_sections_are_well_formed(text in markdown_text()) {
        let sections = current_state::sections(&text);
        let mut last = 0;
        for s in &sections {
            prop_assert!(s.start >= last && s.start < s.body_start && s.body_start <= s.end);
            prop_assert!(s.end <= text.len());
            prop_assert!(s.content_end(&text) <= s.end);
            last = s.end;
        }
        let _ = current_state::current_priority(&text).map(|p| current_state::priority_headline(&p));
        let _ = milestones::backlog_items(&text);
    }

    #[test]
    fn timestamps_never_panic(s in "\\PC{0,40}", n in any::<f64>()) {
        let _ = time::parse_str(&s);
        let _ = time::parse_value(&Value::from(n));
        let _ = time::parse_value(&Value::from(s));
    }

    /// Durations: the one rule accepts 1 ms ..= 10 years and reads back what was written.
    #[test]
    fn durations_round_trip(secs in 1u64..=3650 * 86_400, junk in "\\PC{0,12}") {
        let d = time::parse_duration(&format!("{secs}s")).unwrap();
        prop_assert_eq!(d.as_secs(), secs);
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        prop_assert_eq!(time::parse_duration(&format!("{h}h{m}m{s}s")).unwrap().as_secs(), secs);
        if let Ok(d) = time::parse_duration(&junk) {
            prop_assert!(!d.is_zero() && d <= time::MAX_DURATION);
        }
    }

    #[test]
    fn json_records_never_panic(text in record_text()) {
        let _ = storage::parse_json_object(Path::new("x.json"), &text);
        if let Ok(Value::Object(record)) = serde_json::from_str::<Value>(&text) {
            let _ = milestones::Milestone::from_record("m", "m.json".into(), record.clone());
            let _ = collab::Request::from_record("c", record);
        }
    }
}

proptest! {
    #![proptest_config(cases(16))]

    /// Whatever lies in the hub's record files, every loader answers (Ok or a clear
    /// error) without a panic.
    #[test]
    fn hub_loaders_never_panic(
        registry in record_text(),
        heartbeat in record_text(),
        lock in record_text(),
        milestone in record_text(),
        collaboration in record_text(),
        config in prop_oneof![
            "\\PC{0,80}",
            Just("[liveness]\nlive = \"0s\"\n".to_string()),
            Just("[claims]\nttl = 0\n".to_string()),
            Just("[claims]\nttl = 99999999999999\n".to_string()),
            Just("[status]\nstale_after = \"1h30m\"\n".to_string()),
            Just("[consensus]\nrule = 3\n".to_string()),
        ],
    ) {
        let (_dir, hub) = temp_hub();
        write(&hub.display_path(layout::REGISTRY), &registry);
        write(&hub.display_path(&format!("{}/s1.json", layout::HEARTBEATS)), &heartbeat);
        write(&hub.display_path(&claims::lock_rel("k1")), &lock);
        write(&hub.display_path(&format!("{}/m1.json", layout::MILESTONES)), &milestone);
        write(&hub.display_path(&format!("{}/c1.json", layout::COLLABORATIONS)), &collaboration);
        let _ = Registry::load(&hub);
        let _ = registry::load_heartbeats(&hub);
        let _ = claims::read(&hub, "k1");
        let _ = claims::list(&hub);
        let _ = milestones::read(&hub, "m1");
        let _ = milestones::list(&hub);
        let _ = collab::list(&hub);
        let _ = sessions_core::views::doctor::check(&hub);
        write(&hub.display_path(sessions_core::store::config::CONFIG_FILE), &config);
        if let Ok(config) = Config::load(hub.root()) {
            prop_assert!(!config.claims.ttl.is_zero() && config.claims.ttl <= time::MAX_DURATION);
            prop_assert!(!config.liveness.live.is_zero());
        }
    }

    /// Writers: what a command writes reads back as what it was given.
    #[test]
    fn hub_writers_round_trip(
        holder in id(),
        key in id(),
        work in user_text(60),
        title in "[A-Za-z][ -~]{0,30}".prop_filter("no secret", |t| secrets::find(t).is_none()),
        steps in prop::collection::vec(user_text(30), 1..4),
        request in user_text(80),
        priority in user_text(60),
        details in proptest::option::of(user_text(200)),
        done in user_text(40),
    ) {
        let (_dir, hub) = temp_hub();
        // Heartbeat.
        let beat = Beat { current_work: Some(work.clone()), ..Beat::default() };
        sessions_core::work::presence::heartbeat(&hub, &holder, &beat).unwrap();
        let beats = registry::load_heartbeats(&hub).unwrap();
        let mine = beats.iter().find(|b| b.id == holder).unwrap();
        // The file holds the text exactly; the tolerant accessor trims it.
        prop_assert_eq!(mine.record.get("current_work"), Some(&Value::from(work.clone())));
        prop_assert_eq!(mine.work(), Some(work.trim()));
        // Lock.
        let grant = claims::claim(&hub, &key, &holder, None).unwrap();
        let claim = claims::read(&hub, &key).unwrap().unwrap();
        prop_assert_eq!(&claim.holder, &holder);
        prop_assert_eq!(claim.token, Some(grant.token));
        // Milestone.
        let new = milestones::NewMilestone {
            title: title.clone(),
            priority: Some("HIGH".into()),
            steps: steps.clone(),
            why: None,
            by: Some(holder.clone()),
            ..Default::default()
        };
        let created = milestones::create(&hub, &new).unwrap();
        let read = milestones::read(&hub, &created.id).unwrap();
        prop_assert_eq!(&read.title, title.trim());
        prop_assert_eq!(read.steps_total, steps.len());
        prop_assert_eq!(&read.priority, "HIGH");
        // Collaboration.
        let req = collab::request(&hub, &holder, "other-session", &request, "normal").unwrap();
        let got = collab::get(&hub, &req.request_id).unwrap();
        prop_assert_eq!(&got.request, &req.request);
        prop_assert_eq!(&got.from_session, &holder);
        // CURRENT_STATE: refused, or the priority reads back as written.
        match current_state::set_priority(&hub, &holder, &priority, details.as_deref()) {
            Ok(()) => {
                let text = std::fs::read_to_string(hub.display_path(layout::CURRENT_STATE)).unwrap();
                let got = current_state::current_priority(&text).unwrap();
                let headline = priority.trim().replace(['\n', '\r'], " ");
                prop_assert_eq!(current_state::priority_headline(&got), headline.replace("**", ""));
                if let Some(d) = &details {
                    prop_assert!(got.ends_with(d.trim_end()), "{:?} lost from\n{}", d, got);
                }
            }
            Err(e) => prop_assert!(matches!(e, sessions_core::Error::Usage(_)), "{e}"),
        }
        let before = current_state::sections(&std::fs::read_to_string(hub.display_path(layout::CURRENT_STATE)).unwrap()).len();
        match current_state::record_completed(&hub, &holder, &done, 7) {
            Ok(()) => {
                let text = std::fs::read_to_string(hub.display_path(layout::CURRENT_STATE)).unwrap();
                prop_assert_eq!(current_state::sections(&text).len(), before);
                let flat = done.trim().replace(['\n', '\r'], " ");
                prop_assert!(text.contains(&format!("1. **{flat}**")), "{}", text);
            }
            Err(e) => prop_assert!(matches!(e, sessions_core::Error::Usage(_)), "{e}"),
        }
    }
}
