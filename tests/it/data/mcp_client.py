"""Drive `sessions mcp` with the official Python MCP client (from PyPI).

Usage: mcp_client.py SESSIONS_EXE REPO_DIR SESSION_ID
Prints one JSON document: the tool names, the tool list's size in characters, each
call's result text, and the error of each invalid call.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


async def main(exe, repo, me):
    params = StdioServerParameters(
        command=exe, args=["--as", me, "mcp"], env=dict(os.environ), cwd=repo
    )
    out = {"calls": {}, "errors": {}}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            tools = [t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools]
            out["tools"] = [t["name"] for t in tools]
            out["tool_list_chars"] = len(json.dumps(tools, separators=(",", ":")))
            calls = [
                ("whoami", {}),
                ("claim", {"key": "deploy-api", "ttl": "1h"}),
                ("reserve", {"paths": ["src/api/**"], "reason": "via MCP"}),
                ("send", {"to": "peer", "body": "hello from MCP", "subject": "hi"}),
                ("inbox", {"unread": True, "mark_read": True}),
                ("ack", {"id": "__FIRST_INBOX__"}),
                ("status", {}),
                ("ready", {}),
                ("milestone_update", {"id": "m-one", "step": 1, "status": "completed"}),
                ("report_set", {"project": "infra", "section": "SERVICES", "label": "API", "marker": "ok", "note": "up"}),
                ("release", {"key": "deploy-api"}),
            ]
            first_inbox = None
            for name, args in calls:
                if args.get("id") == "__FIRST_INBOX__":
                    args = {"id": first_inbox}
                try:
                    result = await session.call_tool(name, args)
                    text = "".join(c.text for c in result.content if getattr(c, "text", None))
                    out["calls"][name] = {"ok": not result.is_error, "text": text}
                    if name == "inbox":
                        msgs = json.loads(text).get("messages", [])
                        first_inbox = msgs[0]["id"] if msgs else "none"
                except MCPError as e:
                    out["calls"][name] = {"ok": False, "error": str(e)}
            for name, args in [
                ("claim", {}),
                ("no_such_tool", {}),
                ("reserve", {"paths": ["/etc/passwd"]}),
                ("release", {"key": "not-held"}),
            ]:
                try:
                    result = await session.call_tool(name, args)
                    out["errors"][name] = {"raised": False, "is_error": result.is_error}
                except MCPError as e:
                    out["errors"][name] = {"raised": True, "message": str(e)}
    print(json.dumps(out))


asyncio.run(main(*sys.argv[1:4]))
