//! Workload generator for the status-file benchmarks: N `<project>-status.md` files in
//! the original shape (sections of ✅ ❌ ⏳ 🔄 items, dependencies, actions, NEXT
//! SESSION), plus their `.<project>-updated` signals.
//!
//!     cargo run --release --example gen-status -- DIR [COUNT=1000]

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: gen-status DIR [COUNT]"));
    let count: usize = args.next().map_or(1000, |c| c.parse().expect("COUNT"));
    std::fs::create_dir_all(&dir).expect("create DIR");
    let markers = ["✅", "❌", "⏳", "🔄"];
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    for i in 0..count {
        let project = format!("project-{i:04}");
        let mut text = format!("## {} STATUS - {now}\n\n", project.to_uppercase());
        for (s, section) in ["INFRASTRUCTURE", "CONFIGURATION", "PROSPECTING"]
            .iter()
            .enumerate()
        {
            let _ = writeln!(text, "**{section}:**");
            for j in 0..6 {
                // Mostly ✅, some ⏳/🔄, one ❌ every few files.
                let m = if (i + j + s) % 17 == 0 {
                    markers[1]
                } else {
                    markers[[0, 0, 0, 2, 3, 0][(i + j) % 6]]
                };
                let _ = writeln!(text, "- Item {s}.{j}: {m} note about item {j} of {project}");
            }
            text.push('\n');
        }
        text.push_str("**DEPENDENCIES:**\n");
        let dep = if i % 10 == 0 { "❌ down" } else { "✅" };
        let _ = writeln!(text, "- Upstream API: {dep}\n");
        text.push_str("**ACTIONS REQUIRED:**\n- [x] Provision\n- [ ] Rotate certificates\n- [ ] Update DNS\n\n");
        let _ = writeln!(text, "**NEXT SESSION:** session-{}", i % 7);
        std::fs::write(dir.join(format!("{project}-status.md")), text).expect("write");
        std::fs::write(dir.join(format!(".{project}-updated")), "").expect("write");
    }
    eprintln!("wrote {count} status files to {}", dir.display());
}
