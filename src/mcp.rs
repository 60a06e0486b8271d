//! `proofpoint-tap mcp` (SPEC §6): every action served as a Model Context Protocol tool over stdio,
//! with the official Rust SDK (`rmcp`).
//!
//! A tool call becomes the request `run` would read (the tool's arguments are the request's fields
//! and the action's parameters) and is run exactly as `run` runs it, on a thread of its own, with
//! a deadline. The envelope comes back as `structuredContent`. The configuration comes from the
//! environment only: no argument can name an API root or credentials.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};

use crate::actions::Action;
use crate::protocol::envelope::ExecutionState;
use crate::protocol::schema;
use crate::runner::{self, ExitStatus};

/// Environment variable: the deadline of one tool call, in seconds.
pub(crate) const ENV_CALL_TIMEOUT: &str = "PROOFPOINT_TAP_MCP_CALL_TIMEOUT_SECONDS";
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The arguments every tool takes besides the action's parameters: the request's own fields.
const REQUEST_FIELDS: [&str; 4] = [
    "case_id",
    "alert_group_identifiers",
    "target_entities",
    "scope",
];

/// Serves until stdin closes.
pub fn serve() -> ExitStatus {
    // One thread is enough for the protocol: each call's action runs on a thread of its own.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: the async runtime could not start: {e}");
            return ExitStatus::Failure;
        }
    };
    let timeout = call_timeout(std::env::var(ENV_CALL_TIMEOUT).ok().as_deref());
    runtime.block_on(async move {
        let server = Server {
            timeout,
            tools: Arc::new(tools()),
        };
        let server = match server.serve(rmcp::transport::stdio()).await {
            Ok(server) => server,
            Err(e) => {
                tracing::error!("the MCP session did not start: {e}");
                return ExitStatus::Failure;
            }
        };
        match server.waiting().await {
            Ok(_) => ExitStatus::Success,
            Err(e) => {
                tracing::error!("the MCP session ended with an error: {e}");
                ExitStatus::Failure
            }
        }
    })
}

/// The call deadline from its environment variable: whole seconds, 1 to 3600; the default otherwise.
fn call_timeout(value: Option<&str>) -> Duration {
    match value.map(str::trim).map(str::parse::<u64>) {
        Some(Ok(seconds)) if (1..=3600).contains(&seconds) => Duration::from_secs(seconds),
        Some(_) => {
            tracing::warn!(
                "ignoring {ENV_CALL_TIMEOUT}: not a whole number of seconds from 1 to 3600; using {}",
                DEFAULT_CALL_TIMEOUT.as_secs()
            );
            DEFAULT_CALL_TIMEOUT
        }
        None => DEFAULT_CALL_TIMEOUT,
    }
}

#[derive(Clone)]
struct Server {
    timeout: Duration,
    /// The tools, made once: their schemas are generated from the actions' declarations.
    tools: Arc<Vec<Tool>>,
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("proofpoint-tap", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(action) = Action::ALL
            .iter()
            .copied()
            .find(|a| a.info().tool_name == request.name)
        else {
            return Err(McpError::invalid_params(
                format!("unknown tool \"{}\"", request.name),
                None,
            ));
        };
        let arguments = request.arguments.unwrap_or_default();
        if let Some(key) = arguments
            .keys()
            .find(|k| k.eq_ignore_ascii_case("configuration"))
        {
            let message = format!(
                "The argument \"{key}\" is not accepted: the configuration comes from the environment (PROOFPOINT_TAP_*) only."
            );
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        let request = request_for(action, arguments, self.timeout);
        let (done, result) = tokio::sync::oneshot::channel();
        // A thread of its own: the runner drives the action on a runtime of its own, as `run`.
        std::thread::spawn(move || {
            let bytes = serde_json::to_vec(&request).unwrap_or_default();
            let envelope = runner::execute(bytes, None, &|k| std::env::var(k).ok());
            let _ = done.send(serde_json::to_value(&envelope).unwrap_or(Value::Null));
        });
        tokio::select! {
            envelope = result => {
                let envelope = envelope.map_err(|_| McpError::internal_error("the action's thread ended without a result", None))?;
                Ok(tool_result(envelope).into())
            }
            // The client gave up on the call: no result is sent. The action stops at its
            // deadline at the latest.
            _ = context.ct.cancelled() => Err(McpError::internal_error("cancelled", None)),
        }
    }
}

/// The request `run` would read for a call of `action`'s tool with `arguments`.
fn request_for(action: Action, arguments: JsonObject, timeout: Duration) -> Value {
    let mut request = Map::new();
    let mut parameters = Map::new();
    for (key, value) in arguments {
        if REQUEST_FIELDS.contains(&key.as_str()) {
            request.insert(key, value);
        } else {
            parameters.insert(key, value);
        }
    }
    let deadline = SystemTime::now()
        .checked_add(timeout)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    request.insert("action".into(), action.info().name.into());
    request.insert("parameters".into(), parameters.into());
    request.insert("execution_deadline_unix_time_ms".into(), deadline.into());
    Value::Object(request)
}

/// The envelope as a tool result: `structuredContent`, and as text its message, then the JSON.
fn tool_result(envelope: Value) -> CallToolResult {
    let message = envelope["output_message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let failed = !matches!(
        serde_json::from_value::<ExecutionState>(envelope["execution_state"].clone()),
        Ok(ExecutionState::Completed)
    );
    let text = format!("{message}\n\n{envelope}");
    let mut result = if failed {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    result.structured_content = Some(envelope);
    result
}

/// One tool per action.
fn tools() -> Vec<Tool> {
    let output = Arc::new(object(schema::wire()[1].1.clone()));
    Action::ALL
        .iter()
        .map(|action| {
            let info = action.info();
            Tool::new(
                Cow::Borrowed(info.tool_name),
                Cow::Borrowed(info.description),
                Arc::new(object(input_schema(*action))),
            )
            .with_title(info.display_name)
            .with_raw_output_schema(Arc::clone(&output))
            .with_annotations(
                ToolAnnotations::with_title(info.display_name)
                    .read_only(true)
                    .open_world(true),
            )
        })
        .collect()
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// A tool's arguments: the request's fields, then the action's parameters under the names the
/// SecOps SOAR tools give them (`encoded_ur_ls`), each with its schema from the action.
pub(crate) fn input_schema(action: Action) -> Value {
    let params = action.params_schema();
    let mut properties = Map::new();
    properties.insert(
        "case_id".into(),
        json!({"type": "string", "description": "The SOAR case the call is for, echoed back."}),
    );
    properties.insert(
        "alert_group_identifiers".into(),
        json!({"type": "array", "items": {"type": "string"}, "description": "The case's alert group identifiers, echoed back."}),
    );
    properties.insert(
        "target_entities".into(),
        json!({
            "type": "array",
            "description": "The entities to act on.",
            "items": {
                "type": "object",
                "properties": {
                    "Identifier": {"type": "string"},
                    "EntityType": {"type": "string", "description": "SOAR entity type: DestinationURL, THREATCAMPAIGN, USERUNIQNAME, FILEHASH, ..."},
                    "AdditionalProperties": {"type": "object"}
                },
                "required": ["Identifier", "EntityType"]
            }
        }),
    );
    properties.insert(
        "scope".into(),
        json!({"type": "string", "default": "All entities", "description": "Which target entities to use."}),
    );
    let declared = params["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for info in action.params() {
        if let Some(schema) = declared.get(&info.key) {
            properties.insert(soar_tool_name(&info.name), schema.clone());
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false
    })
}

/// The snake_case name the SecOps SOAR tools give a parameter, from its display name: words joined
/// by `_`, and an upper-case run followed by lower case split before its last capital
/// (`Encoded URLs` → `encoded_ur_ls`).
pub(crate) fn soar_tool_name(display: &str) -> String {
    let mut out = String::new();
    for word in display.split_whitespace() {
        if !out.is_empty() {
            out.push('_');
        }
        let chars: Vec<char> = word.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let splits = i > 0
                && c.is_ascii_uppercase()
                && chars[i - 1].is_ascii_uppercase()
                && chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if splits {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_parameter_names_are_the_soar_tools() {
        assert_eq!(soar_tool_name("Encoded URLs"), "encoded_ur_ls");
        assert_eq!(soar_tool_name("Campaign ID"), "campaign_id");
        assert_eq!(soar_tool_name("Create URL Entities"), "create_url_entities");
        assert_eq!(
            soar_tool_name("Max Forensics Evidence To Return"),
            "max_forensics_evidence_to_return"
        );
    }

    #[test]
    fn every_tool_parameter_is_a_spelling_the_parser_takes() {
        for action in Action::ALL {
            for info in action.params() {
                let name = soar_tool_name(&info.name);
                assert!(
                    action.specs().iter().any(|s| s.is_named(&name)),
                    "{}: {name}",
                    action.info().name
                );
            }
        }
    }

    #[test]
    fn call_timeouts() {
        assert_eq!(call_timeout(None), DEFAULT_CALL_TIMEOUT);
        assert_eq!(call_timeout(Some(" 5 ")), Duration::from_secs(5));
        assert_eq!(call_timeout(Some("0")), DEFAULT_CALL_TIMEOUT);
        assert_eq!(call_timeout(Some("soon")), DEFAULT_CALL_TIMEOUT);
    }
}
