"""Packaging conventions: the wheel ships LICENSE and the JSON Schemas, dev tools are pinned
dependency groups (not extras), and real outputs validate against the shipped schemas."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing

from juggler.triage.schema import SCHEMAS, load_schema

from ._run import EXAMPLES, REPO, juggler_cli

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schemas = [load_schema(n) for n in SCHEMAS]
    for schema in schemas:
        jsonschema.Draft202012Validator.check_schema(schema)
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in schemas
    )
    return jsonschema.Draft202012Validator(load_schema(name), registry=registry)


def _errors(name: str, document: object) -> list[str]:
    return [e.message for e in _validator(name).iter_errors(document)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """One real run with every part filled: a KB cause, a learned incident, a baseline,
    a refused input; its ``--json`` document and its ``memo.json``."""
    home = tmp_path_factory.mktemp("schema")
    kb = str(home / "kb.sqlite3")
    log, green = str(EXAMPLES / "pytest-gha.log"), str(EXAMPLES / "pytest-gha.baseline.log")
    done = juggler_cli("kb", "import", str(EXAMPLES / "kb.json"), "--kb", kb, home=home)
    assert done.returncode == 0, done.stderr
    done = juggler_cli(
        "triage", log, "--kb", kb, "--quiet", "--learn", "--cause", "decimal", home=home
    )
    assert done.returncode == 0, done.stderr
    done = juggler_cli(
        "triage", log, str(EXAMPLES / "npm-jest.log"), "missing.log", "--baseline", green,
        "--kb", kb, "--quiet", "--json", "--out-dir", "memo", home=home, timeout=180,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # partial: missing.log was refused
    document = json.loads(done.stdout)
    memo = json.loads((home / "memo" / "memo.json").read_text(encoding="utf-8"))
    return document, memo


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_real_outputs_validate_against_the_shipped_schemas(
    outputs: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    document, memo = outputs
    # Every part is really present, so the schema was exercised on each.
    assert document["causes"]
    assert document["similar_incidents"]
    assert document["rejected_inputs"]
    assert memo["memo"]["findings"]
    assert _errors("triage", document) == []
    assert _errors("memo", memo) == []
    assert _errors("triage", memo) == []  # memo.json is a triage document plus "memo"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_schemas_reject_broken_documents(outputs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    document, memo = outputs
    missing = copy.deepcopy(document)
    del missing["findings"]
    assert any("'findings' is a required property" in e for e in _errors("triage", missing))
    zero_line = copy.deepcopy(document)
    zero_line["findings"][0]["line_start"] = 0  # line numbers are 1-based
    assert _errors("triage", zero_line)
    no_memo = copy.deepcopy(memo)
    del no_memo["memo"]
    assert _errors("memo", no_memo)
    wrong_type = copy.deepcopy(memo)
    wrong_type["memo"]["headline"] = 3
    assert _errors("memo", wrong_type)


def test_docs_describe_every_top_level_key() -> None:
    text = (REPO / "docs" / "json.md").read_text(encoding="utf-8")
    for name in SCHEMAS:
        schema = load_schema(name)
        assert f"{name}.schema.json" in text
        for key in schema.get("required", []):
            assert f"`{key}`" in text, key


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_wheel_ships_license_and_schemas_and_no_dev_extras(tmp_path: Path) -> None:
    source = tmp_path / "src-copy"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "*-out", "__pycache__", ".*_cache"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=110,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("juggler-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = archive.read(metadata).decode()
        [license_file] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert "MIT License" in archive.read(license_file).decode()
    assert "juggler/triage/schema/triage.schema.json" in names
    assert "juggler/triage/schema/memo.schema.json" in names
    assert "License-Expression: MIT" in meta
    extras = set(re.findall(r"^Provides-Extra: (\S+)", meta, flags=re.MULTILINE))
    assert not extras & {"dev", "bench"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_dev_and_bench_are_dependency_groups_pinned_with_hashes() -> None:
    groups = PYPROJECT["dependency-groups"]
    assert {"dev", "bench"} <= set(groups)
    assert not {"dev", "bench"} & set(PYPROJECT["project"].get("optional-dependencies", {}))
    for group in ("dev", "bench"):
        lock = (REPO / "requirements" / f"{group}.txt").read_text(encoding="utf-8")
        pinned = {_name(m) for m in re.findall(r"^([A-Za-z0-9][^=\s]*)==", lock, re.MULTILINE)}
        wanted = {_name(r) for r in groups[group] if isinstance(r, str)}
        assert wanted <= pinned, f"re-run `make lock`: {sorted(wanted - pinned)} not pinned"
        assert "--hash=sha256:" in lock
    # CI tests every published extra: the dev export carries their dependencies too.
    dev = (REPO / "requirements" / "dev.txt").read_text(encoding="utf-8")
    for extra, requirements in PYPROJECT["project"].get("optional-dependencies", {}).items():
        for requirement in requirements:
            assert re.search(rf"^{_name(requirement)}==", dev, re.MULTILINE), extra
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/dev.txt" in makefile


@pytest.mark.timeout(60)
def test_requirements_are_the_export_of_uv_lock() -> None:
    uv = Path(sys.executable).parent / "uv"
    assert uv.is_file(), "uv is in the dev group"
    for group in ("dev", "bench"):
        exported = subprocess.run(
            [str(uv), "export", "--frozen", "--quiet", "--no-emit-project", "--all-extras",
             "--no-default-groups", "--group", group, "--format", "requirements-txt"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=50,
        ).stdout  # fmt: skip
        written = (REPO / "requirements" / f"{group}.txt").read_text(encoding="utf-8")

        def body(text: str) -> list[str]:
            return [line for line in text.splitlines() if not line.startswith("#")]

        assert body(exported) == body(written), f"requirements/{group}.txt is stale: make lock"
