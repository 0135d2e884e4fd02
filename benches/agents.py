#!/usr/bin/env python3
"""Hook handler latency as whole processes (issue 11), with a baseline in the same run.

Usage: benches/agents.py [path/to/release/sessions]   (default: target/release/sessions)
Makes a temp git repo with a hub, 50 reservations of other live sessions and a bound
Claude session, then times N calls of each event (p50/p99) and `sessions --version`
the same way (the floor: process start). Also prints the brief's and the MCP tool
list's sizes in characters.
"""
import json, os, statistics, subprocess, sys, tempfile, time

N = int(os.environ.get("N", "1000"))
exe = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/sessions")
tmp = tempfile.mkdtemp()
subprocess.run(["git", "init", "-q", tmp], check=True)
env = dict(os.environ, SESSIONS_HUB=os.path.join(tmp, "SESSIONS"), NO_COLOR="1",
           SESSIONS_HOOK_DELIVERY_EVERY="0s")
env.pop("SESSIONS_ID", None)
def run(args, stdin=None):
    return subprocess.run([exe] + args, input=stdin, env=env, cwd=tmp,
                          capture_output=True, text=True)
run(["init", os.path.join(tmp, "SESSIONS")])
for i in range(50):
    run(["--as", f"peer{i}", "heartbeat", "--work", f"task {i}"])
    run(["--as", f"peer{i}", "reserve", f"src/mod{i}/**"])
def payload(event, **extra):
    d = {"session_id": "bench-session", "cwd": tmp, "hook_event_name": event,
         "transcript_path": "/tmp/t.jsonl"}
    d.update(extra)
    return json.dumps(d)
start = payload("SessionStart", source="startup")
brief = json.loads(run(["hook", "claude", "SessionStart"], start).stdout)
brief_chars = len(brief["hookSpecificOutput"]["additionalContext"])
cases = {
    "--version (floor)": (["--version"], None),
    "SessionStart (brief)": (["hook", "claude", "SessionStart"], start),
    "PreToolUse Write, denied": (["hook", "claude", "PreToolUse"], payload(
        "PreToolUse", tool_name="Write",
        tool_input={"file_path": f"{tmp}/src/mod7/x.rs", "content": "x"})),
    "PreToolUse Write, allowed": (["hook", "claude", "PreToolUse"], payload(
        "PreToolUse", tool_name="Write",
        tool_input={"file_path": f"{tmp}/docs/y.md", "content": "x"})),
    "PostToolUse (no new message)": (["hook", "claude", "PostToolUse"], payload(
        "PostToolUse", tool_name="Bash", tool_input={"command": "ls"})),
}
print(f"{N} calls each; brief {brief_chars} chars")
for name, (args, stdin) in cases.items():
    times = []
    for _ in range(N):
        t = time.perf_counter()
        r = run(args, stdin)
        times.append((time.perf_counter() - t) * 1000)
        assert r.returncode == 0, r.stderr
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"| {name} | {statistics.median(times):.2f} ms | {p99:.2f} ms |")
tools = subprocess.run(
    [exe, "--as", "x", "mcp"], env=env, cwd=tmp, capture_output=True, text=True,
    input="\n".join(json.dumps(m) for m in [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]) + "\n")
for line in tools.stdout.splitlines():
    msg = json.loads(line)
    if msg.get("id") == 2:
        print("MCP tool list:", len(json.dumps(msg["result"]["tools"], separators=(",", ":"))), "chars")
