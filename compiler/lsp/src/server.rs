//! The main loop: the handshake, document synchronisation (incremental) and the
//! dispatch of requests to [`crate::handlers`].
//!
//! Requests are answered on the main thread from the analysis of the project's
//! current text: when the worker has not produced it yet, it is computed there and
//! then (a re-check takes milliseconds), so answers never describe stale text.

use std::error::Error;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use govc::query::{analyze_reusing, Analysis};
use lsp_server::{Connection, ExtractError, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Notification as _,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, FoldingRangeRequest, Formatting, GotoDefinition,
    HoverRequest, References, Request as _,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, DocumentSymbolResponse, FoldingRangeProviderCapability,
    HoverProviderCapability, OneOf, PositionEncodingKind, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};

use crate::diagnostics::Worker;
use crate::handlers::{self, Formatter};
use crate::position::apply_change;
use crate::workspace::Workspace;

/// What the server offers; formatting only with a formatter.
pub fn capabilities(formatter: Option<Formatter>) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..Default::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "=".into(), ">".into(), "\"".into()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
        document_formatting_provider: formatter.map(|_| OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    }
}

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Runs the handshake and the main loop on `connection` until `exit`.
pub fn serve(connection: Connection, formatter: Option<Formatter>) -> Result<()> {
    let init = serde_json::json!({
        "capabilities": capabilities(formatter),
        "serverInfo": ServerInfo { name: "govc".into(), version: Some(env!("CARGO_PKG_VERSION").into()) },
    });
    let id = match connection.initialize_start() {
        Ok((id, _params)) => id,
        Err(err) => return Err(err.into()),
    };
    connection.initialize_finish(id, init)?;
    let workspace = Arc::new(Mutex::new(Workspace::default()));
    let (queue, jobs) = crossbeam_channel::unbounded::<PathBuf>();
    let worker = Worker::new(workspace.clone(), connection.sender.clone());
    let worker = std::thread::Builder::new().name("govc-check".into()).spawn(move || worker.run(jobs))?;
    let mut server = Server { workspace, queue, formatter, sender: connection.sender.clone() };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    break;
                }
                server.request(request);
            }
            Message::Notification(notification) => server.notification(notification),
            Message::Response(_) => {}
        }
    }
    drop(server);
    worker.join().map_err(|_| "the check thread panicked")?;
    Ok(())
}

struct Server {
    workspace: Arc<Mutex<Workspace>>,
    queue: crossbeam_channel::Sender<PathBuf>,
    formatter: Option<Formatter>,
    sender: crossbeam_channel::Sender<Message>,
}

fn path_of(uri: &Url) -> Option<PathBuf> {
    uri.to_file_path().ok()
}

impl Server {
    fn notification(&mut self, notification: Notification) {
        let root = match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(notification.params) else {
                    return;
                };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                let mut ws = self.workspace.lock().expect("workspace lock");
                Some(ws.open(path, p.text_document.text, p.text_document.version))
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(notification.params)
                else {
                    return;
                };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                let mut ws = self.workspace.lock().expect("workspace lock");
                let Some(doc) = ws.documents.get_mut(&path) else { return };
                for change in p.content_changes {
                    apply_change(&mut doc.text, change);
                }
                doc.version = p.text_document.version;
                let root = doc.root.clone();
                ws.touch(&root);
                Some(root)
            }
            DidSaveTextDocument::METHOD | DidCloseTextDocument::METHOD => {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Params {
                    text_document: lsp_types::TextDocumentIdentifier,
                }
                let closing = notification.method == DidCloseTextDocument::METHOD;
                let Ok(p) = serde_json::from_value::<Params>(notification.params) else { return };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                let mut ws = self.workspace.lock().expect("workspace lock");
                let root = ws.documents.get(&path).map(|d| d.root.clone());
                if closing {
                    ws.documents.remove(&path);
                }
                // Files may have been created, renamed or saved: read the disk again.
                if let Some(root) = &root {
                    ws.load(root);
                }
                root
            }
            _ => None,
        };
        if let Some(root) = root {
            let _ = self.queue.send(root);
        }
    }

    /// The project of `uri` and its current analysis, with the document's path in it.
    fn analysis(&self, uri: &Url) -> Option<(PathBuf, Arc<Analysis>, govc::FileId)> {
        let path = path_of(uri)?;
        let mut ws = self.workspace.lock().expect("workspace lock");
        let root = ws.documents.get(&path).map(|d| d.root.clone())?;
        let analysis = match ws.current(&root) {
            Some(a) => a,
            None => {
                let generation = ws.generation(&root);
                let previous = ws.latest(&root);
                let analysis = Arc::new(analyze_reusing(ws.sources(&root), previous.as_deref()));
                let (_, replaced) = ws.store(&root, generation, analysis.clone());
                drop(ws);
                drop((previous, replaced));
                analysis
            }
        };
        let rel = crate::workspace::relative(&root, &path)?;
        let file = handlers::file_id(&analysis, &rel)?;
        Some((root, analysis, file))
    }

    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        let result = self.dispatch(request);
        let response = match result {
            Ok(value) => Response { id, result: Some(value), error: None },
            Err(Some(err)) => Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, err),
            Err(None) => Response::new_err(id, lsp_server::ErrorCode::MethodNotFound as i32, "unknown method".into()),
        };
        let _ = self.sender.send(Message::Response(response));
    }

    fn dispatch(&mut self, request: Request) -> std::result::Result<serde_json::Value, Option<String>> {
        fn params<R: lsp_types::request::Request>(
            request: Request,
        ) -> std::result::Result<(RequestId, R::Params), Option<String>> {
            request.extract::<R::Params>(R::METHOD).map_err(|e| match e {
                ExtractError::MethodMismatch(_) => None,
                ExtractError::JsonError { error, .. } => Some(error.to_string()),
            })
        }
        let json = |v: serde_json::Value| Ok(v);
        let to = |v: Option<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
        match request.method.as_str() {
            HoverRequest::METHOD => {
                let (_, p) = params::<HoverRequest>(request)?;
                let tp = p.text_document_position_params;
                let v = self.analysis(&tp.text_document.uri).and_then(|(_, a, f)| handlers::hover(&a, f, tp.position));
                json(to(v.map(|v| serde_json::to_value(v).unwrap_or_default())))
            }
            GotoDefinition::METHOD => {
                let (_, p) = params::<GotoDefinition>(request)?;
                let tp = p.text_document_position_params;
                let v = self
                    .analysis(&tp.text_document.uri)
                    .and_then(|(r, a, f)| handlers::definition(&a, &r, f, tp.position));
                json(to(v.map(|v| serde_json::to_value(v).unwrap_or_default())))
            }
            References::METHOD => {
                let (_, p) = params::<References>(request)?;
                let tp = p.text_document_position;
                let v = self
                    .analysis(&tp.text_document.uri)
                    .map(|(r, a, f)| handlers::references(&a, &r, f, tp.position, p.context.include_declaration));
                json(serde_json::to_value(v.unwrap_or_default()).unwrap_or_default())
            }
            Completion::METHOD => {
                let (_, p) = params::<Completion>(request)?;
                let tp = p.text_document_position;
                let v = self.analysis(&tp.text_document.uri).map(|(_, a, f)| handlers::completion(&a, f, tp.position));
                json(serde_json::to_value(v.unwrap_or_default()).unwrap_or_default())
            }
            DocumentSymbolRequest::METHOD => {
                let (_, p) = params::<DocumentSymbolRequest>(request)?;
                let v = self.analysis(&p.text_document.uri).map(|(_, a, f)| handlers::document_symbols(&a, f));
                json(serde_json::to_value(DocumentSymbolResponse::Nested(v.unwrap_or_default())).unwrap_or_default())
            }
            FoldingRangeRequest::METHOD => {
                let (_, p) = params::<FoldingRangeRequest>(request)?;
                let v = self.analysis(&p.text_document.uri).map(|(_, a, f)| handlers::folding_ranges(&a, f));
                json(serde_json::to_value(v.unwrap_or_default()).unwrap_or_default())
            }
            Formatting::METHOD => {
                let (_, p) = params::<Formatting>(request)?;
                let formatter = self.formatter.ok_or(None)?;
                let text = path_of(&p.text_document.uri).and_then(|path| {
                    self.workspace.lock().expect("workspace lock").documents.get(&path).map(|d| d.text.clone())
                });
                let v = text.and_then(|t| handlers::formatting(&t, formatter));
                json(to(v.map(|v| serde_json::to_value(v).unwrap_or_default())))
            }
            CodeActionRequest::METHOD => {
                let (_, p) = params::<CodeActionRequest>(request)?;
                let v = self.analysis(&p.text_document.uri).map(|(r, a, f)| handlers::code_actions(&a, &r, f, p.range));
                json(serde_json::to_value(v.unwrap_or_default()).unwrap_or_default())
            }
            _ => Err(None),
        }
    }
}
