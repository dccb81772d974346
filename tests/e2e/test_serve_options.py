"""`causerie serve`: a stable node id, and JSON logs as an option (issue 12 item 7)."""

from __future__ import annotations

import io
import json
import logging
import socket

import pytest

from causerie.cli.serve import JsonFormatter, configure_logging, stable_node_id, worker_settings
from causerie.settings import Settings


def test_the_node_id_is_the_host_and_port_unless_configured() -> None:
    host = socket.gethostname()
    named = stable_node_id(Settings(), 8123)
    assert named.server.node_id == f"{host}-8123"
    # The same after a restart; each worker its own, stable too.
    assert stable_node_id(Settings(), 8123).server.node_id == named.server.node_id
    assert worker_settings(named, 2).server.node_id == f"{host}-8123-w2"
    configured = Settings(server={"node_id": "web-a"})  # type: ignore[arg-type]
    assert stable_node_id(configured, 8123).server.node_id == "web-a"
    # An ephemeral port says nothing about the process: the node names itself.
    assert stable_node_id(Settings(), 0).server.node_id == ""


def test_json_logs_are_one_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        settings = Settings(server={"log_format": "json", "node_id": "web-a"})  # type: ignore[arg-type]
        configure_logging(settings)
        logging.getLogger("causerie.test").warning("node %s started", "web-a")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("causerie.test").exception("heartbeat failed")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "node web-a started"
    assert (first["level"], first["logger"], first["node"]) == ("warning", "causerie.test", "web-a")
    assert second["message"] == "heartbeat failed" and "RuntimeError: boom" in second["error"]
    assert isinstance(JsonFormatter("").format(logging.makeLogRecord({"msg": "x"})), str)
