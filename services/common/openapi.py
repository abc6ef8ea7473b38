"""Each service's OpenAPI 3.1 description, built from its routes and request models.

Routes say what they take with ``api_doc``; ``add_command_route`` does it for every
trading command. Request schemas come from the pydantic models, so the description and
the validation cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

ERROR_STATUSES = {
    400: "Bad input (nothing changed; an errorEvent is logged for trading commands)",
    401: "Missing, invalid or expired token",
    403: "The caller may not do this (another user's account, or a role it lacks)",
    404: "No such account or route",
    405: "Method not allowed",
    409: "The account's state does not allow it (e.g. insufficient funds)",
    413: "Request body too large",
    422: "The Idempotency-Key was used before for a different request",
    429: "Too many requests",
    503: "A dependency (quote server, database, cache) is unavailable",
}
COMMAND_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429, 503)
_SUCCESS = {
    "type": "object",
    "required": ["ok", "data"],
    "properties": {"ok": {"const": True}, "data": {}},
}
_ERROR = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}


def api_doc(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    errors: Iterable[int] = COMMAND_ERRORS,
    success: int = 200,
    content: str = "application/json",
    public: bool = False,
) -> Callable:
    """Describe a view for the OpenAPI document (public: no token needed)."""

    def describe(view: Callable) -> Callable:
        view.openapi = {
            "summary": summary,
            "body": body,
            "query": query,
            "errors": tuple(errors),
            "success": success,
            "content": content,
            "public": public,
        }
        return view

    return describe


def build_spec(app: Flask, title: str) -> dict:
    """The OpenAPI document for every described route of ``app``."""
    described = [
        (rule, app.view_functions[rule.endpoint].openapi)
        for rule in app.url_map.iter_rules()
        if hasattr(app.view_functions[rule.endpoint], "openapi")
    ]
    models = {doc[k] for _, doc in described for k in ("body", "query") if doc[k]}
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict = {}
    for rule, doc in described:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, doc)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": {**defs.get("$defs", {}), "Success": _SUCCESS, "Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(rule, doc: dict) -> dict:
    op: dict = {"summary": doc["summary"], "operationId": rule.endpoint}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in rule.arguments
    ]
    if doc["query"]:
        schema = doc["query"].model_json_schema()
        required = set(schema.get("required", ()))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    if params:
        op["parameters"] = params
    if doc["body"]:
        ref = {"$ref": f"#/components/schemas/{doc['body'].__name__}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    if doc["content"] == "application/json":
        ok = {"application/json": {"schema": {"$ref": "#/components/schemas/Success"}}}
    else:
        ok = {doc["content"]: {"schema": {"type": "string"}}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    op["responses"] = {str(doc["success"]): {"description": "Done", "content": ok}} | {
        str(code): {"description": ERROR_STATUSES[code], "content": error} for code in doc["errors"]
    }
    if not doc["public"]:
        op["security"] = [{"bearer": []}]
    return op
