//! `sessions mcp`: the hub as an MCP server on stdio (rmcp). Each tool runs the same
//! command as the CLI, in process, with `--json`: same behaviour, same error messages.

use std::sync::Arc;

use clap::Args;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use sessions_agents::{identity, mcp};
use sessions_core::{Error, Result};

use crate::Ctx;
use crate::cli::{Cli, GlobalArgs};
use crate::output::Output;

#[derive(Debug, Args)]
#[command(after_help = "\
Tools: whoami, status, inbox, send, ack, claim, release, reserve, ready, milestone_update,
report_set. Identity per connection: --as / SESSIONS_ID, else the session the hooks bound
in this folder. Errors come back as MCP errors with the CLI's message. Exits on EOF.

Examples:
  claude mcp add sessions -- sessions mcp
  sessions --as s1 mcp")]
pub struct McpArgs {}

struct HubServer {
    global: GlobalArgs,
    me: Option<String>,
}

impl HubServer {
    /// Run one tool as its `sessions --json` command line.
    fn call(
        &self,
        tool: &str,
        args: &serde_json::Map<String, serde_json::Value>,
    ) -> std::result::Result<String, McpError> {
        let argv = mcp::argv(tool, args).map_err(|e| McpError::invalid_params(e.0, None))?;
        let mut line: Vec<String> = vec!["sessions".into(), "--json".into()];
        if let Some(me) = &self.me {
            line.extend(["--as".into(), me.clone()]);
        }
        if let Some(hub) = &self.global.hub {
            line.extend(["--hub".into(), hub.to_string_lossy().into_owned()]);
        }
        line.extend(argv);
        let cli = <Cli as clap::Parser>::try_parse_from(&line)
            .map_err(|e| McpError::invalid_params(e.to_string(), None))?;
        let mut ctx = Ctx {
            out: Output::new(cli.global.json),
            global: cli.global,
        };
        match crate::cmd::run(&mut ctx, cli.command) {
            Ok(_) => Ok(ctx.out.take()),
            Err(e) => Err(to_mcp(&e)),
        }
    }
}

/// A hub error as an MCP error: the CLI's message, its kind and exit code as data.
fn to_mcp(e: &Error) -> McpError {
    let code = match e {
        Error::Usage(_) | Error::InvalidId { .. } => ErrorCode::INVALID_PARAMS,
        _ => ErrorCode::INTERNAL_ERROR,
    };
    McpError::new(
        code,
        e.to_string(),
        Some(
            serde_json::json!({ "kind": e.kind(), "exit_code": e.exit_code(), "details": e.details() }),
        ),
    )
}

impl ServerHandler for HubServer {
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.server_info.name = "sessions".into();
        config.server_info.version = env!("CARGO_PKG_VERSION").into();
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        let tools = mcp::tools()
            .into_iter()
            .map(|t| {
                let schema = match t.schema {
                    serde_json::Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                Tool::new_with_raw(t.name, Some(t.description.into()), Arc::new(schema))
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        let text = self.call(&request.name, &args)?;
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

pub fn run(ctx: &mut Ctx, _args: McpArgs) -> Result<u8> {
    let me = match ctx.me_if_given()? {
        Some(id) => Some(id),
        None => ctx.hub().ok().and_then(|hub| {
            let cwd = std::env::current_dir().ok()?;
            identity::whoami(&hub, &cwd, &identity::env_sessions())
                .ok()
                .flatten()
                .map(|b| b.hub_id)
        }),
    };
    let server = HubServer {
        global: ctx.global.clone(),
        me,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the MCP server: {e}")))?;
    runtime.block_on(async {
        let service = match server.serve(rmcp::transport::stdio()).await {
            Ok(service) => service,
            // The client left before saying hello: nothing to serve, not an error.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => return Err(Error::Failed(format!("MCP handshake failed: {e}"))),
        };
        // Ends when the client closes stdin.
        let _ = service.waiting().await;
        Ok::<(), Error>(())
    })?;
    Ok(0)
}
