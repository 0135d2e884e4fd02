//! Benchmark: N real `sessions claim` processes race for one key, R rounds.
//!
//! ```sh
//! cargo build --release --bin sessions --example claim-race
//! target/release/examples/claim-race target/release/sessions /tmp/hub --racers 64 --rounds 30
//! ```
//!
//! Per round it reports, from the moment the first process is spawned: when the winner
//! had its answer (its process exited with 0: the claim is decided and visible), and when
//! the last loser had its answer (exit 1, "already claimed"). It checks that exactly one
//! process won. `--baseline` runs `sessions --version` the same way: the cost of spawning
//! that many processes at once, with no hub work at all.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: claim-race SESSIONS_BIN HUB [--racers N] [--rounds R] [--baseline]");
        std::process::exit(2);
    }
    let bin = PathBuf::from(&args[0]);
    let hub = PathBuf::from(&args[1]);
    let mut racers = 64;
    let mut rounds = 30;
    let mut baseline = false;
    let mut rest = args[2..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--racers" => racers = rest.next().and_then(|n| n.parse().ok()).unwrap_or(racers),
            "--rounds" => rounds = rest.next().and_then(|n| n.parse().ok()).unwrap_or(rounds),
            "--baseline" => baseline = true,
            other => panic!("unknown argument {other}"),
        }
    }
    let mut decided = Vec::new();
    let mut all = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let handles: Vec<_> = (0..racers)
            .map(|i| {
                let mut cmd = Command::new(&bin);
                cmd.arg("--hub").arg(&hub);
                if baseline {
                    cmd.arg("--version");
                } else {
                    cmd.args(["--as", &format!("racer-{i}"), "claim", "bench-race"]);
                }
                let child = cmd
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn");
                std::thread::spawn(move || {
                    let mut child = child;
                    let code = child.wait().expect("wait").code();
                    (code, i, start.elapsed())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter(|r| r.0 == Some(0)).collect();
        let last = results.iter().map(|r| r.2).max().unwrap();
        if baseline {
            decided.push(results.iter().map(|r| r.2).min().unwrap());
            all.push(last);
            continue;
        }
        assert_eq!(winners.len(), 1, "exactly one winner per round");
        assert!(results.iter().all(|r| r.0 == Some(0) || r.0 == Some(1)));
        decided.push(winners[0].2);
        all.push(last);
        let status = Command::new(&bin)
            .arg("--hub")
            .arg(&hub)
            .args([
                "--as",
                &format!("racer-{}", winners[0].1),
                "release",
                "bench-race",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("release");
        assert!(status.success());
    }
    let what = if baseline {
        "first process done"
    } else {
        "winner decided"
    };
    println!(
        "{racers} racers, {rounds} rounds: {what} median {:.1} ms; all answered median {:.1} ms",
        median(&mut decided).as_secs_f64() * 1e3,
        median(&mut all).as_secs_f64() * 1e3
    );
}
