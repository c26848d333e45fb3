"""JSON Schemas of juggler's JSON outputs, shipped with the package (draft 2020-12).

* ``triage.schema.json``: the document ``juggler triage --json`` prints;
* ``memo.schema.json``: ``memo.json`` as ``--out-dir`` writes it (the document plus ``memo``).

docs/json.md explains the contract. juggler itself needs no validator; a consumer can::

    import jsonschema, referencing
    from juggler.triage.schema import load_schema, SCHEMAS

    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in map(load_schema, SCHEMAS)
    )
    jsonschema.Draft202012Validator(load_schema("memo"), registry=registry).validate(doc)
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["SCHEMAS", "load_schema"]

SCHEMAS = ("triage", "memo")


def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` (``"triage"`` or ``"memo"``) as a dict."""
    if name not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r} (use {', '.join(SCHEMAS)})")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
