"""The OpenAPI 3.1 document of the native API (native.md §0.4), generated from the route table and
the same msgspec structs the handlers decode and encode."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from frontdesk import __version__
from frontdesk.faces.native import frames as f
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native.table import Spec

REF = "#/components/schemas/{name}"
_PARAM_RE = re.compile(r"{([^}:]+)(?::[^}]+)?}")

EVENT_SCHEMA: dict[str, Any] = {
    "title": "Event",
    "description": "A chat event (native.md §4): the envelope plus the kind's fields, flat.",
    "type": "object",
    "properties": {
        "seq": {"type": "integer", "minimum": 1},
        "kind": {
            "type": "string",
            "enum": [
                "created",
                "status",
                "queue_update",
                "party_joined",
                "party_left",
                "party_updated",
                "message",
                "file",
                "typing",
                "receipt",
                "activity",
                "signaling",
                "transferred",
                "transfer_failed",
                "form",
                "form_response",
                "survey",
                "timeout_warning",
                "ended",
                "wrapup",
                "crm_linked",
            ],
        },
        "at": {"type": "string", "format": "date-time"},
        "by": {"anyOf": [{"$ref": REF.format(name="PartyRef")}, {"type": "null"}]},
    },
    "required": ["seq", "kind", "at", "by"],
    "additionalProperties": True,
}
UNIONS: dict[str, Any] = {
    "AgentServerFrame": f.AgentServerFrame,
    "AgentClientFrame": f.AgentClientFrame,
    "SupervisorServerFrame": f.SupervisorServerFrame,
    "SupervisorClientFrame": f.SupervisorClientFrame,
}


def _struct(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, msgspec.Struct)


def _ref(t: Any) -> dict[str, Any]:
    return {"$ref": REF.format(name=t.__name__)}


def _event_refs(node: Any) -> None:
    """Fields named ``event``/``events`` hold canonical events: point them at ``Event``."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            if "event" in props:
                props["event"] = {"$ref": REF.format(name="Event")}
            if "events" in props:
                props["events"] = {"type": "array", "items": {"$ref": REF.format(name="Event")}}
        for value in node.values():
            _event_refs(value)
    elif isinstance(node, list):
        for value in node:
            _event_refs(value)


def _content(kind: Any) -> dict[str, Any]:
    if _struct(kind):
        return {"application/json": {"schema": _ref(kind)}}
    if kind == "binary":
        return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    if kind == "html":
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"type": "object"}}}


def _operation(spec: Spec) -> dict[str, Any]:
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{spec.method.lower()}{spec.path}").strip("_")
    op: dict[str, Any] = {
        "operationId": name,
        "summary": spec.summary or name,
        "tags": [spec.path.split("/")[3] if spec.path.startswith("/api/v1/") else "meta"],
    }
    if spec.role:
        op["description"] = f"Role: {spec.role}."
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _PARAM_RE.findall(spec.path)
    ]
    for q in spec.query:
        schema: dict[str, Any] = {"type": q.type}
        if q.repeat:
            schema = {"type": "array", "items": schema}
        params.append(
            {"name": q.name, "in": "query", "required": False, "description": q.description, "schema": schema}
        )
    if params:
        op["parameters"] = params
    op["security"] = [{"bearer": []}] if spec.auth else []
    if spec.websocket is not None and spec.frames is not None:
        server, client = spec.frames
        op["responses"] = {
            "101": {
                "description": (
                    f"Switching Protocols to a WebSocket. Server frames: {REF.format(name=server)}; "
                    f"client frames: {REF.format(name=client)}."
                )
            }
        }
        return op
    if spec.body == "multipart":
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "client_msg_id": {"type": "string"},
                        },
                    }
                }
            },
        }
    elif _struct(spec.body):
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(spec.body)}}}
    responses: dict[str, Any] = {}
    for status in (spec.status, *spec.extra_status):
        if status == 204:
            responses["204"] = {"description": "No content"}
        else:
            responses[str(status)] = {"description": "OK", "content": _content(spec.answer)}
    responses["default"] = {
        "description": "Problem document (native.md §2)",
        "content": {"application/problem+json": {"schema": _ref(s.Problem)}},
    }
    op["responses"] = responses
    return op


def document(specs: list[Spec]) -> dict[str, Any]:
    types: list[Any] = [s.Problem]
    for spec in specs:
        for t in (spec.body, spec.answer):
            if _struct(t) and t not in types:
                types.append(t)
    union_types = list(UNIONS.values())
    top, components = msgspec.json.schema_components(types + union_types, ref_template=REF)
    for name, schema in zip(UNIONS, top[len(types) :], strict=True):
        components[name] = schema
    components["Event"] = EVENT_SCHEMA
    _event_refs(components)
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Frontdesk native API",
            "version": __version__,
            "description": "Agent, supervisor and administration API (spec/native.md).",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
