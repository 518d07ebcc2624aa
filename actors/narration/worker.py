"""A narrator worker process: ``python -m actors.narration.worker CONFIG_JSON``.

The only place llama.cpp runs.  The server starts one such process per narrator slot
(``processes.py``); whatever llama.cpp does here (a segfault, an abort, running out of
memory) ends this process and no other.  It loads each configured model once, says
``ready``, then serves one generation at a time:

    server -> worker (stdin)   {"op": "generate", "id", "model", "messages", "max_tokens",
                                "deadline_s", "seed", "cache_key"}
    worker -> server           {"op": "ready", "pid", "failed": {name: why}}   once, after loading
                               {"op": "token", "id", "piece"}                  as each piece comes
                               {"op": "done", "id", "generation": {...}}       the Generation
                               {"op": "error", "id", "message"}                a ModelError or worse

One JSON object per line (orjson escapes newlines inside strings).  The frames go out on
a duplicate of the original stdout; stdout itself then points at stderr, so nothing that
llama.cpp or a library prints can corrupt a frame.  The deadline is the server's
remaining seconds, counted from when the request is read; the server kills a worker that
overstays it (``processes.GRACE_S``).  End of stdin: the worker exits.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from typing import Any, BinaryIO

import orjson

from .model import LocalModel, ModelError


def serve(config: dict[str, Any], requests: BinaryIO, frames: BinaryIO) -> None:
    """Load ``config["models"]`` (name -> GGUF path), then answer ``requests`` until they end."""

    def send(frame: dict[str, Any]) -> None:
        frames.write(orjson.dumps(frame) + b"\n")
        frames.flush()

    models = {name: LocalModel(path, name=name, n_ctx=config["n_ctx"], n_threads=config["n_threads"])
              for name, path in config["models"].items()}
    failed: dict[str, str] = {}
    for name, model in models.items():
        try:
            model.load()
        except ModelError as exc:
            failed[name] = str(exc)
    send({"op": "ready", "pid": os.getpid(), "failed": failed})
    for line in requests:
        request = orjson.loads(line)
        ident = request["id"]
        model = models.get(request["model"])
        try:
            if model is None:
                raise ModelError(f"this worker has no model {request['model']!r}")
            generation = model.generate(
                request["messages"], max_tokens=request["max_tokens"],
                deadline=time.monotonic() + request["deadline_s"], seed=request["seed"],
                cache_key=request.get("cache_key"),
                on_token=lambda piece: send({"op": "token", "id": ident, "piece": piece}))
        except Exception as exc:  # noqa: BLE001 - the server settles the request with its template
            send({"op": "error", "id": ident, "message": str(exc) if isinstance(exc, ModelError)
                  else f"{type(exc).__name__}: {exc}"})
            continue
        send({"op": "done", "id": ident, "generation": dataclasses.asdict(generation)})


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server stops us
    frames = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to the log, never into a frame
    serve(orjson.loads(sys.argv[1]), sys.stdin.buffer, frames)


if __name__ == "__main__":
    main()
