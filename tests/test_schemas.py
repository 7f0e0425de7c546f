"""schemas/ is the published contract: it must agree with the live server and real CLI output."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from referencing import Registry, Resource
from typer.testing import CliRunner

from mcp_memory import MemoryRecord, MemoryStore, audit, config, erasure
from mcp_memory.cli import app
from mcp_memory.cli import transfer as cli_transfer
from mcp_memory.server.app import create_server

from .conftest import AGENT

pytestmark = pytest.mark.anyio

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
TOOLS = ("remember", "recall", "forget", "link")
runner = CliRunner()


def load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    registry: Registry = Registry()
    for path in SCHEMAS.rglob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        uri = path.relative_to(SCHEMAS).as_posix()
        registry = registry.with_resource(uri, Resource.from_contents(schema))
    return Draft202012Validator(load(name), registry=registry)


def problems(name: str, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)]


# ---- comparing schemas without pydantic's noise ---------------------------------------------

_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def shape(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """What a client depends on: types (nullability included), enums, bounds, defaults,
    items, fields and which are required.

    Titles, descriptions and the anyOf-vs-type-list spelling are dropped.
    """
    node = _resolve(node, root)
    branches = [shape(b, root) for b in node.get("anyOf", [])]
    types = node.get("type", [])
    out: dict[str, Any] = {"types": set([types] if isinstance(types, str) else types)}
    enum = node.get("enum", [node["const"]] if "const" in node else None)
    if enum is not None:
        out["enum"] = {v for v in enum if v is not None}
        out["types"] |= {_JSON_TYPES[type(v)] for v in enum if not out["types"] or v is None}
    for key in ("minimum", "maximum", "default"):
        if key in node:
            out[key] = node[key]
    if "items" in node:
        out["items"] = shape(node["items"], root)
    if "properties" in node:
        out["properties"] = {k: shape(v, root) for k, v in node["properties"].items()}
        out["required"] = set(node.get("required", []))
    for branch in branches:
        out["types"] |= branch.pop("types")
        out.update({k: v for k, v in branch.items() if k not in out})
    return out


def differences(file: dict[str, Any], live: dict[str, Any], path: str = "") -> list[str]:
    """Every key of the two shapes, recursively: a file that requires a field the server
    only defaults (or the other way round) is a difference too."""
    found: list[str] = []
    for key in sorted(set(file) | set(live)):
        a, b = file.get(key), live.get(key)
        here = f"{path}.{key}" if path else key
        if key == "properties" and a is not None and b is not None:
            if set(a) != set(b):
                found.append(f"{here}: file has {sorted(a)}, server has {sorted(b)}")
            for name in sorted(set(a) & set(b)):
                found += differences(a[name], b[name], f"{here}.{name}")
        elif key == "items" and a is not None and b is not None:
            found += differences(a, b, f"{here}[]")
        elif a != b:
            found.append(f"{here}: file {a!r} != server {b!r}")
    return found


async def live_tools(store: MemoryStore) -> dict[str, Any]:
    async with Client(create_server(store=store), mode="auto") as c:
        return {t.name: t for t in (await c.list_tools()).tools}


def file_shape(name: str) -> dict[str, Any]:
    schema = load(name)
    return shape(schema, schema)


# ---- the files themselves ------------------------------------------------------------------


def all_schema_files() -> list[Path]:
    return sorted(SCHEMAS.rglob("*.json"))


@pytest.mark.parametrize("path", all_schema_files(), ids=lambda p: p.name)
def test_every_schema_file_is_valid_draft_2020_12_and_known_by_its_path_alone(
    path: Path,
) -> None:
    """No `$id`: an absolute one on a domain nobody serves sends standard tools to the
    network for every `$ref` between the files; without one, a `$ref` resolves beside the
    file it is in, whatever the tool."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in json.dumps(schema)


def test_the_published_set_covers_every_contract_document() -> None:
    names = {p.relative_to(SCHEMAS).as_posix() for p in all_schema_files()}
    expected = {
        "memory-record.json",
        "export-line.json",
        "audit-entry.json",
        "erase-receipt.json",
    } | {f"tools/{t}.{d}.json" for t in TOOLS for d in ("input", "output")}
    assert names == expected


# ---- live MCP tools ------------------------------------------------------------------------


async def test_the_server_offers_exactly_the_tools_that_have_schema_files(
    store: MemoryStore,
) -> None:
    assert set(await live_tools(store)) == set(TOOLS)


@pytest.mark.parametrize("tool", TOOLS)
async def test_each_tool_input_schema_file_matches_the_live_server(
    store: MemoryStore, tool: str
) -> None:
    live = (await live_tools(store))[tool].input_schema
    assert differences(file_shape(f"tools/{tool}.input.json"), shape(live, live)) == []


@pytest.mark.parametrize("tool", TOOLS)
async def test_each_tool_output_schema_file_matches_the_live_server(
    store: MemoryStore, tool: str
) -> None:
    live = (await live_tools(store))[tool].output_schema
    assert live is not None
    assert differences(file_shape(f"tools/{tool}.output.json"), shape(live, live)) == []


async def test_the_comparison_catches_a_renamed_an_added_and_a_retyped_field(
    store: MemoryStore,
) -> None:
    live = (await live_tools(store))["recall"].input_schema
    reference = file_shape("tools/recall.input.json")
    renamed = json.loads(json.dumps(live))
    renamed["properties"]["max_results"] = renamed["properties"].pop("limit")
    added = json.loads(json.dumps(live))
    added["properties"]["since"] = {"type": "string"}
    retyped = json.loads(json.dumps(live))
    retyped["properties"]["limit"]["type"] = "number"
    for mutant in (renamed, added, retyped):
        assert differences(reference, shape(mutant, mutant)) != []


async def test_real_tool_results_validate_against_the_output_schema_files(
    store: MemoryStore,
) -> None:
    async with Client(create_server(store=store), mode="auto") as c:
        a = await c.call_tool("remember", {"content": "Use pnpm for the web app", "tags": ["js"]})
        b = await c.call_tool("remember", {"content": "pnpm workspaces hold the shared UI"})
        ids = a.structured_content["id"], b.structured_content["id"]
        link = await c.call_tool(
            "link", {"source_id": ids[1], "target_id": ids[0], "relation": "supports"}
        )
        found = await c.call_tool("recall", {"query": "pnpm workspaces"})
        gone = await c.call_tool("forget", {"id": ids[1]})
    assert found.structured_content["results"], "recall must return something to check"
    assert any(hit["links"] for hit in found.structured_content["results"])
    for tool, result in (("remember", a), ("link", link), ("recall", found), ("forget", gone)):
        assert not result.is_error
        assert problems(f"tools/{tool}.output.json", result.structured_content) == []


# ---- library models the files describe -----------------------------------------------------


def _top_level(s: dict[str, Any]) -> dict[str, set[str]]:
    return {name: prop["types"] for name, prop in s["properties"].items()}


def test_memory_record_schema_matches_the_model_field_for_field() -> None:
    model = MemoryRecord.model_json_schema()
    schema = load("memory-record.json")
    fields = shape(schema["$defs"]["fields"], schema)
    assert _top_level(fields) == _top_level(shape(model, model))
    assert fields["required"] == set(MemoryRecord.model_fields)


def test_enums_in_the_schemas_match_the_library_vocabularies() -> None:
    schema = load("memory-record.json")
    record = shape(schema["$defs"]["fields"], schema)
    assert record["properties"]["source"]["enum"] == set(config.SOURCES)
    links = file_shape("export-line.json")["properties"]["links"]["items"]["properties"]
    assert links["relation"]["enum"] == set(config.RELATIONS)
    assert file_shape("audit-entry.json")["properties"]["action"]["enum"] == set(audit.ACTIONS)
    receipt = file_shape("erase-receipt.json")
    assert receipt["properties"]["selector"]["enum"] == set(erasure.SELECTORS)


def test_audit_entry_and_receipt_schemas_list_exactly_the_fields_the_code_prints() -> None:
    assert set(load("audit-entry.json")["properties"]) == {
        f.name for f in dataclasses.fields(audit.AuditEntry)
    }
    assert set(load("erase-receipt.json")["properties"]) == {
        f.name for f in dataclasses.fields(erasure.Receipt)
    }


# ---- real CLI output -----------------------------------------------------------------------


def cli(*args: str) -> Any:
    if not any(c.name == "import" for c in app.registered_commands):
        app.command("import")(cli_transfer.import_command)
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def remember(text: str) -> int:
    return int(json.loads(cli("remember", text, "--json").stdout)["id"])


def test_real_exports_validate_line_by_line_against_export_line_json(tmp_path: Path) -> None:
    first = remember("Releases are cut on Thursdays")
    second = remember("Hotfixes go to main first")
    cli("link", str(second), str(first), "--relation", "related")
    cli("forget", str(first))
    out = tmp_path / "export.jsonl"
    cli("export", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2 and lines[1]["links"]
    for line in lines:
        assert problems("export-line.json", line) == []
        record = {k: v for k, v in line.items() if k not in ("links", "export_version")}
        assert problems("memory-record.json", record) == []
    assert problems("memory-record.json", lines[0]) != []  # the record schema is closed


def check_jsonschema(schema: Path, *instances: Path) -> subprocess.CompletedProcess[str]:
    """The standard tool, given the schema file and nothing else (no registry, no network)."""
    cmd = [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema)]
    return subprocess.run([*cmd, *map(str, instances)], capture_output=True, text=True)


def test_check_jsonschema_validates_a_real_export_given_only_the_schema_file(
    tmp_path: Path,
) -> None:
    first = remember("Deploys need a green CI run")
    second = remember("Staging mirrors production data nightly")
    cli("link", str(second), str(first), "--relation", "depends_on")
    out = tmp_path / "export.jsonl"
    cli("export", "--out", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    files = []
    for n, line in enumerate(lines):  # check-jsonschema reads one document per file
        files.append(tmp_path / f"line{n}.json")
        files[-1].write_text(line, encoding="utf-8")
    checked = check_jsonschema(SCHEMAS / "export-line.json", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**json.loads(lines[1]), "source": "oracle"}), encoding="utf-8")
    refused = check_jsonschema(SCHEMAS / "export-line.json", tampered)
    assert refused.returncode == 1 and "'oracle' is not one of" in refused.stdout


def test_real_audit_log_entries_validate_against_audit_entry_json(tmp_path: Path) -> None:
    kept = remember("Use uv to manage Python environments")
    other = remember("Lock files are committed")
    cli("link", str(other), str(kept), "--relation", "related")
    cli("forget", str(other))
    cli("erase", "--id", str(other), "--yes")
    out = tmp_path / "export.jsonl"
    cli("export", "--out", str(out))
    cli("import", str(out), "--yes", "--db", str(tmp_path / "copy.db"))
    entries = json.loads(cli("audit", "log", "--json").stdout)
    assert {e["action"] for e in entries} >= {"remember", "link", "forget", "erase"}
    for entry in entries:
        assert problems("audit-entry.json", entry) == []
    imported = runner.invoke(
        app, ["audit", "log", "--json"], env={"MCP_MEMORY_DB": str(tmp_path / "copy.db")}
    )
    import_entries = json.loads(imported.stdout)
    assert [e["action"] for e in import_entries] == ["import"]
    assert problems("audit-entry.json", import_entries[0]) == []


def test_real_erase_receipts_validate_against_erase_receipt_json() -> None:
    doomed = remember("The staging box is called kiwi")
    receipt = json.loads(cli("erase", "--id", str(doomed), "--yes", "--json").stdout)
    assert receipt["erased_ids"] == [doomed]
    assert problems("erase-receipt.json", receipt) == []
    nothing = json.loads(cli("erase", "--match", "no such words", "--yes", "--json").stdout)
    assert nothing["erased_ids"] == []
    assert problems("erase-receipt.json", nothing) == []


def test_a_record_from_the_store_validates_and_an_altered_one_does_not(
    store: MemoryStore,
) -> None:
    stored = store.remember("Run the tests with pytest -q", actor=AGENT, files=["README.md"])
    record = store.get(stored.id).model_dump(mode="json")
    assert problems("memory-record.json", record) == []
    assert problems("memory-record.json", {**record, "status": "trusted"}) != []
    assert problems("memory-record.json", {**record, "content_hash": "md5:abc"}) != []
