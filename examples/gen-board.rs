//! Generate a large message board for benchmarks: appends COUNT toolkit blocks to
//! `<hub>/MESSAGES.md`, spread over the last 30 days, from s1..s8 to s1..s8 or `all`.
//!
//! ```sh
//! cargo run --release --example gen-board -- /tmp/bench/SESSIONS 100000
//! cargo run --release --example gen-board -- /tmp/bench/SESSIONS 10 --to r1   # 10 for r1
//! ```

use std::io::Write;

use sessions_core::board::messages::{Post, render_block};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (hub, count) = match args.as_slice() {
        [hub, count, ..] => (
            hub.clone(),
            count.parse::<usize>().expect("COUNT is a number"),
        ),
        _ => {
            eprintln!("usage: gen-board <hub-dir> <count> [--to <session>]");
            std::process::exit(2);
        }
    };
    let to_fixed = args
        .iter()
        .position(|a| a == "--to")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let path = std::path::Path::new(&hub).join("MESSAGES.md");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open MESSAGES.md");
    let mut out = std::io::BufWriter::new(file);
    let words = [
        "deploy",
        "dashboard",
        "milestone",
        "claimed",
        "review",
        "the",
        "API",
        "on",
        "port",
        "8004",
        "is",
        "ready",
        "please",
        "check",
        "tests",
        "pass",
        "merged",
        "branch",
    ];
    let now = chrono::Utc::now();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..count {
        let len = 8 + (next() % 120) as usize;
        let body: Vec<&str> = (0..len)
            .map(|_| words[(next() % words.len() as u64) as usize])
            .collect();
        let from = format!("s{}", 1 + next() % 8);
        let to = match &to_fixed {
            Some(t) => vec![t.clone()],
            None if i % 10 == 0 => Vec::new(),
            None => vec![format!("s{}", 1 + next() % 8)],
        };
        let age = chrono::Duration::seconds(((count - i) as i64 * 30 * 86_400) / count as i64);
        let time = sessions_core::store::time::format(now - age);
        let id = format!("m-gen{i:09}-{:012x}", next() & 0xffff_ffff_ffff);
        let post = Post {
            from,
            to,
            subject: (i % 3 == 0).then(|| format!("update {i}")),
            priority: Some(if i % 50 == 0 { "high" } else { "normal" }.into()),
            reply_to: None,
            body: body.join(" "),
        };
        out.write_all(render_block(&id, &time, &post).as_bytes())
            .expect("write");
    }
    out.flush().expect("flush");
}
