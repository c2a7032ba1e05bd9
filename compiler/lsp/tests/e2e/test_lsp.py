"""End-to-end tests of `govc lsp`: every feature, driven by a real client on the examples."""

import asyncio

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import EXAMPLES, diagnostics_for, edit, open_doc, position_of, replace_text, uri_of

THREE = "three-envs/project.gov"
LADDER = "phased-ladder/project.gov"
LADDER_STAGING = "phased-ladder/envs/staging.gov"


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def text_of(rel: str) -> str:
    return (EXAMPLES / rel).read_text()


def codes(diagnostics) -> list[str]:
    return sorted(d.code for d in diagnostics)


# --- diagnostics ---------------------------------------------------------------


async def test_a_clean_example_publishes_no_diagnostics(client: LanguageClient):
    for rel in ["minimal/project.gov", THREE, LADDER]:
        uri = open_doc(client, rel)
        assert await diagnostics_for(client, uri, version=1) == [], rel


async def test_a_change_is_rechecked_and_the_fix_clears_it(client: LanguageClient):
    uri = open_doc(client, THREE)
    await diagnostics_for(client, uri, version=1)
    text = text_of(THREE)
    start = position_of(text, "connects = [orders]", len("connects = ["))
    end = types.Position(line=start.line, character=start.character + len("orders"))
    version = edit(client, uri, start, end, "ordres")
    diagnostics = await diagnostics_for(client, uri, version=version)
    assert codes(diagnostics) == ["E206"]
    (d,) = diagnostics
    assert d.source == "govc"
    assert d.range == types.Range(start=start, end=end)
    assert "did you mean `orders`?" in d.message
    version = replace_text(client, uri, text)
    assert await diagnostics_for(client, uri, version=version) == []


async def test_bursts_of_changes_are_debounced_and_only_the_last_is_published(client: LanguageClient):
    uri = open_doc(client, THREE)
    await diagnostics_for(client, uri, version=1)
    text = text_of(THREE)
    mark = len(client.published)
    for i in range(20):
        version = replace_text(client, uri, text.replace("port = 8080", f"port = {70000 + i}"))
    diagnostics = await diagnostics_for(client, uri, version=version)
    assert codes(diagnostics) == ["E209"]
    await asyncio.sleep(0.3)
    versions = [v for u, v, _ in client.published[mark:] if u == uri]
    assert versions[-1] == version
    assert len(versions) < 20, f"20 keystrokes gave {len(versions)} checks: no debounce"
    assert versions == sorted(versions), "a stale result was published after a newer one"


async def test_diagnostics_cover_the_whole_project(client: LanguageClient):
    staging = open_doc(client, LADDER_STAGING)
    project = open_doc(client, LADDER)
    assert await diagnostics_for(client, staging) == []
    # Renaming the stack in project.gov (unsaved) breaks `stack = clinic` in envs/staging.gov.
    text = text_of(LADDER)
    replace_text(client, project, text.replace("stack clinic {", "stack clinik {"))

    async def broken():
        while True:
            d = list(client.diagnostics.get(staging, []))
            if d:
                return d
            await asyncio.sleep(0.01)

    diagnostics = await asyncio.wait_for(broken(), 10)
    assert "E206" in codes(diagnostics)
    assert any("clinik" in d.message for d in diagnostics)


# --- hover ---------------------------------------------------------------------


async def test_hover_on_a_field_shows_its_schema_and_merged_values(client: LanguageClient):
    uri = open_doc(client, THREE)
    text = text_of(THREE)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(text, "replicas = 3..10", 2))
    )
    value = hover.contents.value
    assert "How many replicas run" in value
    assert "- type: " in value
    assert "default: `1`" in value and "range: `1` to `100`" in value and "capability: `sizing`" in value
    assert "`production`: `3..10` (set by the environment)" in value
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(text, "port = 8080", 1))
    )
    value = hover.contents.value
    assert "The port the service listens on." in value
    for env in ["local", "staging", "production"]:
        assert f"`{env}`: `8080` (from the stack)" in value


async def test_hover_on_a_kind_and_a_reference(client: LanguageClient):
    uri = open_doc(client, THREE)
    text = text_of(THREE)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(text, "postgres orders", 2))
    )
    assert "Managed PostgreSQL" in hover.contents.value
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(text, "connects = [orders]", 13))
    )
    assert hover.contents.value.startswith("`orders` → postgres `orders` (declared in stack `shop`)")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(text, "postgres orders {\n    class", 10))
    )
    assert "refines postgres `orders`" in hover.contents.value
    assert '`class = "db.m6g.large"` (environment)' in hover.contents.value
    assert "`version = 16` (stack)" in hover.contents.value


# --- navigation ----------------------------------------------------------------


async def definition(client, uri, position):
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc(uri), position=position)
    )
    return sorted((loc.uri, loc.range.start.line, loc.range.start.character) for loc in result or [])


async def test_definition_of_names_stacks_mirrors_and_refinements(client: LanguageClient):
    uri = open_doc(client, THREE)
    text = text_of(THREE)
    orders = position_of(text, "postgres orders", len("postgres "))
    assert await definition(client, uri, position_of(text, "connects = [orders]", 13)) == [
        (uri, orders.line, orders.character)
    ]
    shop = position_of(text, "stack shop", len("stack "))
    assert await definition(client, uri, position_of(text, "stack = shop", 9)) == [(uri, shop.line, shop.character)]
    production = position_of(text, "environment production", len("environment "))
    assert await definition(client, uri, position_of(text, "mirrors = production", 11)) == [
        (uri, production.line, production.character)
    ]
    storefront = position_of(text, "service storefront", len("service "))
    # A refinement leads to the stack; the stack's declaration to the refinements.
    assert await definition(client, uri, position_of(text, "service storefront", 9, nth=1)) == [
        (uri, storefront.line, storefront.character)
    ]
    refinements = await definition(client, uri, storefront)
    assert len(refinements) == 3


async def test_definition_of_phases_across_files(client: LanguageClient):
    uri = open_doc(client, LADDER)
    text = text_of(LADDER)
    target = position_of(text, 'phase "j5-infrastructure-code"', len("phase "))
    assert await definition(client, uri, position_of(text, '"j5-infrastructure-code"', 3)) == [
        (uri, target.line, target.character)
    ]
    first = position_of(text, 'phase "j4-1-concepts"', len("phase "))
    assert await definition(client, uri, position_of(text, 'after = "j4-1-concepts"', 10)) == [
        (uri, first.line, first.character)
    ]
    staging = open_doc(client, LADDER_STAGING)
    clinic = position_of(text, "stack clinic", len("stack "))
    staging_text = text_of(LADDER_STAGING)
    assert await definition(client, staging, position_of(staging_text, "stack = clinic", 9)) == [
        (uri, clinic.line, clinic.character)
    ]


async def test_references_include_refinements_and_uses(client: LanguageClient):
    uri = open_doc(client, THREE)
    text = text_of(THREE)
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(uri),
            position=position_of(text, "postgres orders", 10),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    lines = sorted(loc.range.start.line for loc in result)
    # The declaration, `connects = [orders]` and the refinements in staging and production.
    assert len(lines) == 4
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(uri),
            position=position_of(text, "environment production", 13),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert len(result) == 2, "`environments = [...]` and `mirrors = production`"


async def test_secret_references_in_an_unsaved_buffer(client: LanguageClient):
    text = text_of(THREE).replace('phase = "build"', 'phase = "wire"').replace(
        '    env { LOG_LEVEL = "info" }',
        '    env { LOG_LEVEL = "info"  PAYMENT_TOKEN = pay-token }',
    )
    text = text.replace("  ingress edge {\n    route", "  secret pay-token { }\n  ingress edge {\n    route", 1)
    for env in ["local", "staging", "production"]:
        text = text.replace(f"environment {env} {{\n", f'environment {env} {{\n  secret pay-token {{ path = "{env}/payments" }}\n')
    uri = open_doc(client, THREE, text)
    assert await diagnostics_for(client, uri, version=1) == []
    declared = position_of(text, "secret pay-token { }", len("secret "))
    assert await definition(client, uri, position_of(text, "= pay-token", 3)) == [
        (uri, declared.line, declared.character)
    ]
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(uri), position=declared, context=types.ReferenceContext(include_declaration=False)
        )
    )
    assert [loc.range.start.line for loc in result] == [position_of(text, "= pay-token").line]


async def test_positions_are_utf16(client: LanguageClient):
    text = text_of(THREE).replace('route "/" -> storefront', 'route "/é😀" -> storefront')
    uri = open_doc(client, THREE, text)
    at = position_of(text, "-> storefront", 3)
    # `é` is one UTF-16 unit, `😀` two: a byte or code point count would land elsewhere.
    assert at.character == len('    route "/é😀" -> ') + 1
    storefront = position_of(text, "service storefront", len("service "))
    assert await definition(client, uri, at) == [(uri, storefront.line, storefront.character)]
    hover = await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=at))
    assert hover.range.start == at
    assert hover.range.end.character == at.character + len("storefront")


# --- completion ----------------------------------------------------------------


async def complete(client, uri, position):
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc(uri), position=position)
    )
    items = result.items if isinstance(result, types.CompletionList) else result
    return {item.label: item for item in items}


async def test_completion_by_context(client: LanguageClient):
    text = text_of(THREE)
    text = text.replace("  tier = staging\n", "  tier = \n")
    text = text.replace("    connects = [orders]\n", "    connects = [orders, ]\n    env { H = orders. }\n")
    text = text.replace('  phase = "build"', '  phase = "')
    uri = open_doc(client, THREE, text)
    tiers = await complete(client, uri, position_of(text, "tier = \n", len("tier = ")))
    assert sorted(tiers) == ["dev", "local", "production", "staging"]
    refs = await complete(client, uri, position_of(text, "[orders, ]", len("[orders, ")))
    assert sorted(refs) == ["orders", "storefront"]
    attrs = await complete(client, uri, position_of(text, "orders. }", len("orders.")))
    assert sorted(attrs) == ["database", "host", "port", "user"]
    assert "private DNS name" in attrs["host"].documentation.value
    phases = await complete(client, uri, position_of(text, 'phase = "', len('phase = "')))
    assert set(phases) == {'"concept"', '"design"', '"build"', '"wire"', '"operate"'}
    fields = await complete(client, uri, position_of(text, "    port = 8080", 4))
    assert {"image", "replicas", "cpu", "memory", "env"} <= set(fields)
    assert "How many replicas run" in fields["replicas"].documentation.value
    kinds = await complete(client, uri, position_of(text, "  network core { }", 2))
    assert {"network", "postgres", "service", "ingress", "secret"} <= set(kinds)
    assert "A private network" in kinds["network"].documentation.value
    services = await complete(client, uri, position_of(text, '-> storefront', 3))
    assert sorted(services) == ["storefront"]


# --- outline -------------------------------------------------------------------


async def test_document_symbols_and_folding(client: LanguageClient):
    uri = open_doc(client, THREE)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
    top = [(s.name, s.detail) for s in symbols]
    assert top == [
        ("shop", "project"),
        ("shop", "stack"),
        ("local", "environment"),
        ("staging", "environment"),
        ("production", "environment"),
    ]
    assert [c.name for c in symbols[1].children] == ["core", "orders", "storefront", "edge"]
    folds = await client.text_document_folding_range_async(types.FoldingRangeParams(text_document=doc(uri)))
    text = text_of(THREE)
    stack = position_of(text, "stack shop").line
    assert any(f.start_line == stack and f.kind == types.FoldingRangeKind.Region for f in folds)
    assert any(f.start_line == 0 and f.kind == types.FoldingRangeKind.Comment for f in folds)


# --- formatting and code actions -----------------------------------------------


async def test_formatting(client: LanguageClient):
    assert client.server_capabilities.document_formatting_provider
    messy = text_of(THREE).replace("  tier = staging\n", "  tier   =    staging\n").replace(
        'route "/" -> storefront', 'route   "/"->storefront'
    )
    uri = open_doc(client, THREE, messy)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=options)
    )
    (edit,) = edits
    assert edit.range.start == types.Position(line=0, character=0)
    assert edit.range.end == position_of(messy, messy[-1], 1, nth=messy.count(messy[-1]) - 1)
    assert edit.new_text == text_of(THREE)
    # Already formatted: no edit. Syntax errors: the text is left alone.
    replace_text(client, uri, text_of(THREE))
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=options)
    )
    assert edits is not None and len(edits) == 0
    replace_text(client, uri, text_of(THREE).replace("stack shop {", "stack shop {{"))
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=options)
    )
    assert edits is None


async def test_code_action_adds_a_missing_required_field(client: LanguageClient):
    text = text_of(THREE).replace('  service storefront { image = "ghcr.io/example/storefront:dev" }', "  service storefront { }")
    uri = open_doc(client, THREE, text)
    diagnostics = await diagnostics_for(client, uri, version=1)
    (missing,) = [d for d in diagnostics if d.code == "E204"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc(uri),
            range=missing.range,
            context=types.CodeActionContext(diagnostics=[missing]),
        )
    )
    (action,) = actions
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.title.startswith("add `image = ")
    (change,) = action.edit.changes[uri]
    lines = text.split("\n")
    line = lines[change.range.start.line]
    fixed_line = line[: change.range.start.character] + change.new_text + line[change.range.end.character :]
    assert fixed_line.startswith("  service storefront { image = ")
    lines[change.range.start.line] = fixed_line
    version = replace_text(client, uri, "\n".join(lines))
    remaining = await diagnostics_for(client, uri, version=version)
    assert "E204" not in codes(remaining)


async def test_code_action_replaces_a_misspelled_name(client: LanguageClient):
    original = text_of(THREE)
    text = original.replace("connects = [orders]", "connects = [ordres]").replace("  tier = staging\n", "  tier = stagin\n")
    uri = open_doc(client, THREE, text)
    diagnostics = await diagnostics_for(client, uri, version=1)
    assert codes(diagnostics) == ["E203", "E206"]
    lines = text.split("\n")
    for d in sorted(diagnostics, key=lambda d: d.range.start.line, reverse=True):
        assert "did you mean" in d.message
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=doc(uri), range=d.range, context=types.CodeActionContext(diagnostics=[d])
            )
        )
        (action,) = actions
        assert action.kind == types.CodeActionKind.QuickFix and action.is_preferred
        assert action.title in ("replace with `orders`", "replace with `staging`")
        (change,) = action.edit.changes[uri]
        assert change.range == d.range
        line = lines[change.range.start.line]
        lines[change.range.start.line] = (
            line[: change.range.start.character] + change.new_text + line[change.range.end.character :]
        )
    assert "\n".join(lines) == original
    version = replace_text(client, uri, "\n".join(lines))
    assert await diagnostics_for(client, uri, version=version) == []
