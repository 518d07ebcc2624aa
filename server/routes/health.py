"""What anyone may ask without a token: liveness, readiness, the API's own description, the metrics."""
from __future__ import annotations

import html
from typing import Any

from quart import Response

from ..metrics import CONTENT_TYPE, exposition
from ..requests import everturn, json_response
from ..schemas import Health, Ready
from .table import Resource

health = Resource("health", tag="health")
HTML = {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
TEXT = {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}


@health.get("/health/live", "the process is up", response=Health, secured=False)
async def live() -> Response:
    return json_response({"status": "ok"})


@health.get("/health/ready", "storage open and taking writes, runtime running (503 otherwise, with the reason)",
            response=Ready, secured=False)
async def ready() -> Response:
    runtime = everturn().runtime
    storage, is_open = runtime.storage_health(), runtime.storage_open()
    fault = storage.fault
    ok = runtime.accepting and is_open and fault is None
    body: dict[str, Any] = {"status": "ok" if ok else "degraded" if fault else "unavailable",
                            "storage": is_open and fault is None, "runtime": runtime.accepting}
    if fault is not None:  # reads, subscriptions and health go on; writes are refused until it clears
        body["reason"] = {"code": fault.code, "cause": fault.cause, "since": fault.since,
                          "message": "writes are refused, reads work; they resume by themselves once the disk "
                                     "writes again", "next_attempt_in_s": storage.next_attempt_in_s}
    return json_response(body, 200 if ok else 503)


@health.get("/openapi.json", "this document", secured=False)
async def openapi() -> Response:
    return json_response(everturn().spec())


@health.get("/api", "this document as a page for people", response=HTML, secured=False)
async def api_page() -> Response:
    page = Response(render_page(everturn().spec()), content_type="text/html; charset=utf-8")
    page.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    return page


@health.get("/metrics", "Prometheus text exposition", response=TEXT, secured=False)
async def metrics() -> Response:
    return Response(exposition(everturn().registry), content_type=CONTENT_TYPE)


def render_page(spec: dict[str, Any]) -> str:
    """A plain HTML page listing every operation (no scripts, no external assets)."""
    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = ", ".join(sorted(operation["responses"]))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation['summary'])}</td><td>{codes}</td></tr>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Everturn API</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em;border-bottom:1px solid #ddd}</style>"
            "</head><body><h1>Everturn API v1</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
            "Errors: <code>{\"error\": {code, message, details}, \"request_id\"}</code>. "
            "Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
            f"<table><tr><th>method</th><th>path</th><th>what</th><th>statuses</th></tr>{''.join(rows)}</table>"
            "</body></html>")
