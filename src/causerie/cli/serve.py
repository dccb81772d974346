"""Serving the site: one process, or ``--workers N`` processes on one port.

One event loop uses one core. ``causerie serve --workers N`` starts N worker processes, each a
whole node (its own node id, hub, bus subscription and database pool) listening on the same
port with ``SO_REUSEPORT``, so the kernel spreads new connections over them. Workers see each
other exactly as nodes of a cluster do, through the bus and the shared database: with the
in-process memory bus or an SQLite file they could not, and more than one worker is refused.

The supervisor (this process) reserves the port, applies the migrations and creates the
retention key once, so that N workers do not race to do it, then starts the workers, restarts
any that dies, and stops them on SIGINT or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import resource
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import Any

from causerie.settings import Settings
from causerie.store.database import is_sqlite

log = logging.getLogger(__name__)


def raise_file_limit() -> int:
    """Lift the soft limit on open files to the hard one: one descriptor per connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def workers_refused(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes cannot serve with these settings, or None when they can."""
    if workers <= 1:
        return None
    reasons = []
    if settings.bus.backend == "memory":
        reasons.append(
            "the memory bus only reaches its own process: set bus.backend to redis or nats "
            "(CAUSERIE_BUS__BACKEND, CAUSERIE_BUS__URL)"
        )
    if is_sqlite(settings.database.url):
        reasons.append(
            "an SQLite file takes one writer at a time: set database.url to PostgreSQL "
            "(CAUSERIE_DATABASE__URL=postgresql+asyncpg://user@host/db)"
        )
    if not reasons:
        return None
    return f"--workers {workers} needs a cross-process bus and a server database: " + "; ".join(
        reasons
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector: ``server.log_format = "json"``."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.node_id:
            entry["node"] = self.node_id
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(settings: Settings) -> None:
    """Every record to standard error, as text or JSON; uvicorn's loggers included."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.server.log_format == "json":
        handler.setFormatter(JsonFormatter(settings.server.node_id))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def uvicorn_logging(settings: Settings) -> dict[str, Any]:
    """uvicorn's own log configuration, or none: its records then go to ours (JSON)."""
    return {"log_config": None} if settings.server.log_format == "json" else {}


def stable_node_id(settings: Settings, port: int) -> Settings:
    """The settings with a node id that survives a restart: the configured one, or the host's
    name and the port (two processes of one host cannot listen on one port). An ephemeral
    port (0) says nothing about the process: the node then names itself."""
    if settings.server.node_id or port == 0:
        return settings
    node_id = f"{socket.gethostname()}-{port}"
    return settings.model_copy(
        update={"server": settings.server.model_copy(update={"node_id": node_id})}
    )


def serve(settings: Settings, host: str, port: int, workers: int, log_level: str) -> int:
    """Serve until interrupted; returns the process's exit status."""
    refused = workers_refused(settings, workers)
    if refused is not None:
        print(f"causerie: {refused}", file=sys.stderr)
        return 2
    settings = stable_node_id(settings, port)
    configure_logging(settings)
    limit = raise_file_limit()
    if workers <= 1:
        import uvicorn

        from causerie.gateway.app import create_app
        from causerie.gateway.server import uvicorn_config

        config = uvicorn_config(
            create_app(settings, freeze_heap=True), settings,
            host=host, port=port, log_level=log_level, **uvicorn_logging(settings),
        )  # fmt: skip
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else 3
    return Supervisor(settings, host, port, workers, log_level, limit).run()


def _listening_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    from causerie.gateway.server import BACKLOG

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(BACKLOG)
    return sock


def worker_settings(settings: Settings, index: int) -> Settings:
    """A worker's settings: its own node id; migrations already applied by the supervisor."""
    node_id = f"{settings.server.node_id}-w{index}" if settings.server.node_id else ""
    return settings.model_copy(
        update={
            "server": settings.server.model_copy(update={"node_id": node_id}),
            "database": settings.database.model_copy(update={"auto_migrate": False}),
            "legal": settings.legal.model_copy(update={"auto_migrate": False}),
        }
    )


def _worker(settings: Settings, host: str, port: int, log_level: str) -> None:
    import uvicorn

    from causerie.gateway.app import create_app
    from causerie.gateway.server import uvicorn_config

    configure_logging(settings)
    raise_file_limit()
    # Bound by each worker with SO_REUSEPORT: the kernel balances new connections across the
    # workers' sockets (a single shared socket wakes whichever worker was busiest last).
    sock = _listening_socket(host, port, listen=True)
    config = uvicorn_config(
        create_app(settings, freeze_heap=True),
        settings,
        log_level=log_level,
        **uvicorn_logging(settings),
    )
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(
        self, settings: Settings, host: str, port: int, workers: int, log_level: str, files: int
    ) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self.workers = workers
        self.log_level = log_level
        self.files = files
        self.stopping = False
        self._context = multiprocessing.get_context("spawn")
        self._processes: dict[int, BaseProcess] = {}

    def prepare(self) -> None:
        """What the workers would otherwise race for: migrations and the retention key."""
        from causerie.legal import database as legal_database
        from causerie.legal.runtime import load_keyring
        from causerie.store.database import migrate

        if self.settings.database.auto_migrate:
            migrate(self.settings.database.url)
        paths = legal_database.resolve_paths(self.settings)
        if self.settings.legal.auto_migrate:
            legal_database.migrate(paths.database_url)
        load_keyring(paths.keys_file, create=self.settings.legal.create_missing_key)

    def _start(self, index: int) -> None:
        process = self._context.Process(
            target=_worker,
            args=(worker_settings(self.settings, index), self.host, self.port, self.log_level),
            name=f"causerie-worker-{index}",
        )
        process.start()
        self._processes[index] = process

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        # Holding the port (bound, not listening: it takes no connections) fails fast when it
        # is in use and keeps it between a worker's death and its restart.
        reserved = _listening_socket(self.host, self.port, listen=False)
        self.port = reserved.getsockname()[1]
        self.prepare()
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        for index in range(1, self.workers + 1):
            self._start(index)
        print(
            f"causerie on http://{self.host}:{self.port}/ with {self.workers} workers",
            f"(database {self.settings.database.url}, bus {self.settings.bus.backend},",
            f"{self.files} files per process)",
            flush=True,
        )
        try:
            while not self.stopping:
                time.sleep(0.2)
                for index, process in list(self._processes.items()):
                    if not process.is_alive() and not self.stopping:
                        log.error(
                            "worker %d exited (status %s): restarting it", index, process.exitcode
                        )
                        time.sleep(1.0)
                        self._start(index)
        finally:
            self.shutdown()
            reserved.close()
        return 0

    def shutdown(self) -> None:
        processes = list(self._processes.values())
        for process in processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    # uvicorn closes its connections and runs the lifespan shutdown on SIGTERM.
                    process.terminate()
        deadline = time.monotonic() + 30
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
