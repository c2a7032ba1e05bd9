"""pytest-lsp fixtures: a real LSP client driving `govc lsp` over stdio.

`GOVC` names the binary (scripts/test-lsp builds it and sets it). The examples
are opened from disk and edited only in the client's buffers: the server must
prefer unsaved buffers to the files, so nothing on disk ever changes.
"""

import asyncio
import os
import pathlib

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REPO = pathlib.Path(__file__).resolve().parents[4]
EXAMPLES = REPO / "examples"
GOVC = os.environ.get("GOVC", str(REPO / "target" / "debug" / "govc"))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[GOVC, "lsp"]))
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=EXAMPLES.as_uri(),
    )
    result = await lsp_client.initialize_session(params)
    lsp_client.server_capabilities = result.capabilities
    lsp_client.versions = {}
    lsp_client.texts = {}
    # Every publication, in order: (uri, version, diagnostics).
    lsp_client.published = []

    features = lsp_client.protocol.fm.features
    default = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish(*args):
        params = args[-1]
        lsp_client.published.append((params.uri, params.version, params.diagnostics))
        return default(*args)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish

    yield
    await lsp_client.shutdown_session()


def uri_of(rel: str) -> str:
    return (EXAMPLES / rel).as_uri()


async def diagnostics_for(client: LanguageClient, uri: str, version: int | None = None, timeout: float = 10.0):
    """Waits until the server publishes diagnostics for `uri` (at `version`, when
    given) and returns the latest such publication."""

    async def wait():
        while True:
            for published_uri, published_version, diagnostics in reversed(client.published):
                if published_uri == uri and (version is None or published_version == version):
                    return list(diagnostics)
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(wait(), timeout)


def open_doc(client: LanguageClient, rel: str, text: str | None = None) -> str:
    uri = uri_of(rel)
    text = (EXAMPLES / rel).read_text() if text is None else text
    client.versions[uri] = 1
    client.texts[uri] = text
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="gov", version=1, text=text)
        )
    )
    return uri


def replace_text(client: LanguageClient, uri: str, text: str) -> int:
    """Sends the whole new text as one full-document change; returns the version."""
    client.versions[uri] += 1
    client.texts[uri] = text
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=client.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return client.versions[uri]


def edit(client: LanguageClient, uri: str, start: types.Position, end: types.Position, new: str) -> int:
    """Sends one incremental (range) change; returns the version."""
    client.versions[uri] += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=client.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=start, end=end), text=new)],
        )
    )
    return client.versions[uri]


def position_of(text: str, needle: str, delta: int = 0, nth: int = 0) -> types.Position:
    """The LSP position (UTF-16 columns) of the nth `needle` in `text`, plus `delta` characters."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += delta
    line = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    column = len(text[line_start:index].encode("utf-16-le")) // 2
    return types.Position(line=line, character=column)
