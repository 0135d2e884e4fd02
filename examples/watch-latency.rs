//! Benchmark: latency from touching a signal to the start of `sessions watch --exec`'s
//! command, over N signals touched one at a time; and the watcher's CPU time while idle.
//!
//!     cargo build --release
//!     cargo run --release --example watch-latency -- [SIGNALS=200] [IDLE_SECS=60]
//!
//! The command records its own start time with `date +%s%N`, so the latency includes
//! starting `sh` and `date` (about 1-2 ms): it is the time until the command runs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name).
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(200, |a| a.parse().unwrap());
    let idle: u64 = args.next().map_or(60, |a| a.parse().unwrap());
    let exe = std::env::current_exe().unwrap();
    let sessions = exe.parent().unwrap().parent().unwrap().join("sessions");
    let tmp = std::env::temp_dir().join(format!("watch-latency-{}", std::process::id()));
    let hub = tmp.join("SESSIONS");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    assert!(
        Command::new(&sessions)
            .arg("init")
            .arg(&hub)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let log = tmp.join("exec.log");
    let exec = format!(
        "echo \"$SESSIONS_SIGNAL $(date +%s%N)\" >> '{}'",
        log.display()
    );
    let mut child = Command::new(&sessions)
        .args(["watch", "--kind", "signal", "--consume", "--exec", &exec])
        .env("SESSIONS_HUB", &hub)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("watching"), "{line}");
    std::thread::spawn(move || for _ in err.lines() {});

    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("lat{i}");
        let t0 = now_ns();
        std::fs::File::create(hub.join(format!(".{name}-updated"))).unwrap();
        let start = Instant::now();
        let t1 = loop {
            if let Some(t) = find(&log, &name) {
                break t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no exec for {name}"
            );
            std::thread::sleep(Duration::from_micros(200));
        };
        lat.push((t1 - t0) as f64 / 1e6);
        std::thread::sleep(Duration::from_millis(30));
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat[(((lat.len() - 1) as f64) * p).round() as usize];
    println!(
        "touch -> exec start over {n} signals: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        lat[lat.len() - 1]
    );

    if idle > 0 {
        let hz = 100.0; // USER_HZ on Linux
        let before = cpu_ticks(child.id());
        std::thread::sleep(Duration::from_secs(idle));
        let after = cpu_ticks(child.id());
        println!(
            "idle CPU over {idle} s: {:.2} s (utime+stime, {} ticks)",
            (after - before) as f64 / hz,
            after - before
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&tmp);
}

fn find(log: &Path, name: &str) -> Option<i128> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|l| {
        let (n, t) = l.split_once(' ')?;
        (n == name).then(|| t.trim().parse().ok()).flatten()
    })
}
