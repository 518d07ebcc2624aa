"""Benchmarks: ``everturn bench NAME`` prints ratios measured side by side, never a test that times things.

One module per benchmark, each with ``measure(...) -> dict`` and a ``run_*_bench(json_output, ...)``
that prints it and returns the exit code; ``server.cli.bench`` loads only the one asked for.

- ``runtime``: actor mailboxes, durable commands, recovery, activation (``everturn bench runtime``)
- ``server``: websocket round trips and fan-out beside a bare echo on the same edge (``bench server``)
- ``peers``: ``everturn serve`` beside the bare floor of its stack and Colyseus, one Node driver
  (``bench peers``; ``floor`` is the bare echo and broadcast it shares with ``bench server``)
- ``bridge``: a VTT bridge over the websocket beside the long-poll (``bench bridge``)
- ``campaigns``: campaigns on durable timers on a virtual clock (``bench campaigns``)
- ``engine``: Cython beside the pure-Python reference (``bench combat``, ``bench strategy``)
- ``narrator``: the local model in real campaigns (``bench narrator``)
- ``training``: cloning samples/s and a policy's win rate (``bench training``)
- ``search``: the SRD indexed and queried beside a scan (``bench search``)

Each module imports the subsystem it measures; this package imports none of them.
"""
