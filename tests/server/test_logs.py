"""Logs are JSON lines that carry the request id."""
from __future__ import annotations

import logging

import orjson

from server.logs import JsonFormatter


def test_a_log_record_is_one_json_object_with_its_request_id():
    record = logging.LogRecord("everturn.server", logging.INFO, __file__, 1, "GET %s %s", ("/x", 200), None)
    record.request_id = "abc123"
    entry = orjson.loads(JsonFormatter().format(record))
    assert entry["message"] == "GET /x 200"
    assert entry["request_id"] == "abc123"
    assert entry["level"] == "info" and entry["logger"] == "everturn.server"


def test_an_exception_is_logged_in_the_same_line():
    try:
        raise ValueError("broken")
    except ValueError:
        import sys

        record = logging.LogRecord("everturn", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: broken" in orjson.loads(line)["error"]
