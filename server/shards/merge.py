"""The answers of every shard to one request over everything, made one answer.

Each merge is ``async (shards) -> Response | None`` (None: this shard answers alone). Shards
answer in shard order; a shard that refuses (a 4xx/5xx) makes the merged answer its
refusal, so an error is never hidden behind a partial list.
"""
from __future__ import annotations

import heapq
import shutil
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import orjson
import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from quart import Response, request

from snapshots.backups import seal_shard_set
from snapshots.files import PARTIAL
from snapshots.layout import SHARDS_DIR
from snapshots.search import MAX_LIMIT, InvalidQuery, decode_cursor, encode_cursor

from ..errors import ApiError
from ..requests import cursor_for, json_response, page_args

from .peers import BACKUP_TARGET

from .forwarding import relayed

if TYPE_CHECKING:
    from .forwarding import Shards

Merge = Callable[["Shards"], Awaitable[Response | None]]
MAX_FIGURES = frozenset({"loop_lag_ms", "loop_lag_ms_max", "commit_largest_group", "at"})


def _refusal(answers: list[httpx.Response]) -> Response | None:
    refused = next((answer for answer in answers if answer.status_code >= 400), None)
    return None if refused is None else relayed(refused)


def _bodies(answers: list[httpx.Response]) -> list[dict[str, Any]]:
    return [orjson.loads(answer.content) for answer in answers]


async def gathered(shards: Shards, **how: Any) -> tuple[Response | None, list[dict[str, Any]]]:
    """Every shard's JSON answer to this request (``how``: as ``Shards.send_all`` takes it), or the
    first refusal among them."""
    answers = await shards.send_all(**how)
    refused = _refusal(answers)
    return refused, [] if refused is not None else _bodies(answers)


def figures(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Runtime figures of all shards: counts add up, lists join, the worst lag stands, and the storage
    shown is the first degraded shard's (the console's banner), with the least free space of any."""
    merged: dict[str, Any] = {}
    for key in parts[0]:
        values = [part.get(key) for part in parts]
        if key == "storage":
            faulty = [value for value in values if value and value.get("state") not in (None, "ok")]
            merged[key] = {**(faulty[0] if faulty else values[0]),
                           "free_bytes": min((v.get("free_bytes") or 0) for v in values)}
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            merged[key] = max(values) if key in MAX_FIGURES else sum(values)
        elif all(isinstance(v, list) for v in values):
            merged[key] = sorted(item for value in values for item in value) if all(
                isinstance(item, str) for value in values for item in value) else [i for v in values for i in v]
        elif key.startswith("timers_stored"):
            merged[key] = None if None in values else sum(values)
        else:
            merged[key] = values[0]
    return merged


async def runtime(shards: Shards) -> Response:
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    merged = figures(parts)
    merged.pop("shard", None)  # each shard's own is in "shards"
    return json_response({**merged, "shards": parts})


async def history(shards: Shards) -> Response:
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    depth = min(len(part["samples"]) for part in parts)  # newest last: line them up from the end
    samples = [figures([part["samples"][len(part["samples"]) - depth + i] for part in parts]) for i in range(depth)]
    return json_response({"interval_s": parts[0]["interval_s"], "samples": samples})


async def tree(shards: Shards) -> Response:
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    kinds: dict[str, dict[str, Any]] = {}
    for part in parts:
        for kind in part["children"]:
            into = kinds.setdefault(kind["kind"], {**kind, "children": [], "corrupt": [], "escalations": 0})
            into["children"] += kind["children"]
            into["corrupt"] += kind["corrupt"]
            into["escalations"] += kind["escalations"]
            into["degraded"] = into["degraded"] or kind["degraded"]
            into["last_escalation"] = max((v for v in (into["last_escalation"], kind["last_escalation"])
                                           if v is not None), default=None)
    for kind in kinds.values():
        kind["children"].sort(key=lambda node: node.get("address", ""))
    rest = figures([{k: v for k, v in part.items() if k not in ("address", "children")} for part in parts])
    return json_response({"address": "root", "children": list(kinds.values()), **rest})


async def by_address(shards: Shards) -> Response:
    """A page in address order (``?cursor=&limit=``, the cursor an address): each shard's page after the
    same address, merged; the next cursor is the last address given."""
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    limit = int(request.args.get("limit", "50"))
    merged = list(heapq.merge(*(part["items"] for part in parts), key=lambda item: item["address"]))
    more = len(merged) > limit or any(part["next_cursor"] for part in parts)
    items = merged[:limit]
    return json_response({"items": items, "next_cursor": cursor_for(items[-1]["address"]) if more and items else None})


async def ready(shards: Shards) -> Response:
    answers = await shards.send_all()
    parts = _bodies(answers)
    worst = next((i for i, answer in enumerate(answers) if answer.status_code != 200), None)
    body = parts[worst if worst is not None else shards.peers.index]
    return json_response({**body, "shards": parts}, answers[worst].status_code if worst is not None else 200)


async def metrics(shards: Shards) -> Response:
    """Every shard's families, each sample labelled with its ``shard``."""
    answers = await shards.send_all()
    families: dict[str, Metric] = {}
    for shard, answer in enumerate(answers):
        for family in text_string_to_metric_families(answer.text):
            into = families.setdefault(family.name, Metric(family.name, family.documentation, family.type,
                                                           family.unit))
            into.samples += [Sample(s.name, {**s.labels, "shard": str(shard)}, s.value, s.timestamp, s.exemplar)
                             for s in family.samples]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(list(families.values())))
    return Response(generate_latest(registry), content_type=answers[0].headers.get("content-type"))


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


async def search(shards: Shards) -> Response | None:
    """Hits of every shard ranked together: each shard's best ``offset + limit`` (rules are only on the
    system shard, campaigns on their owners), merged by score, then the page cut."""
    args = request.args
    if args.get("scope", "all") == "rules":
        return await shards.to_system()
    try:
        offset = decode_cursor(args["cursor"]) if args.get("cursor") else 0
        limit = int(args.get("limit", "10"))
    except (InvalidQuery, ValueError):
        return None  # this shard refuses it as any would
    if not 1 <= limit <= MAX_LIMIT:
        return None
    query = urlencode([(name, value) for name, value in args.items(multi=True) if name not in ("cursor", "limit")]
                      + [("limit", str(offset + limit))])
    refused, parts = await gathered(shards, path=f"{request.path}?{query}")
    if refused is not None:
        return refused
    ranked = sorted((item for part in parts for item in part["items"]), key=lambda hit: (-hit["score"], hit["id"]))
    total = sum(part["total"] for part in parts)
    more = offset + limit < total
    return json_response({**parts[0], "total": total, "items": ranked[offset:offset + limit],
                          "next_cursor": encode_cursor(offset + limit) if more else None})


async def narrator(shards: Shards) -> Response:
    """Every shard's narrator (each shard runs its own workers) as one: counts add up, the workers are
    listed with their ``shard``, and the health shown is the first shard's that is not ready."""
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    merged = figures(parts)
    merged["health"] = next((part["health"] for part in parts if part["health"]["state"] != "ready"),
                            parts[shards.peers.index]["health"])
    merged["workers"] = [{**worker, "shard": shard} for shard, part in enumerate(parts) for worker in part["workers"]]
    merged["outcomes"] = {name: sum(part["outcomes"].get(name, 0) for part in parts) for name in parts[0]["outcomes"]}
    merged["last_worker_crash"] = next((part["last_worker_crash"] for part in parts if part["last_worker_crash"]),
                                       None)
    for key in ("latency_p50_ms", "latency_p95_ms"):  # the slowest shard's
        merged[key] = max((part[key] for part in parts if part[key] is not None), default=None)
    merged["tokens_per_s"] = sum(part["tokens_per_s"] or 0 for part in parts) or None
    return json_response({**merged, "shards": parts})


async def per_shard(shards: Shards) -> Response:
    """This shard's answer, and every shard's under ``shards``."""
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    return json_response({**parts[shards.peers.index], "shards": parts})


async def listed(shards: Shards) -> Response:
    """Every shard's ``items``, one list (oldest first where they say when)."""
    refused, parts = await gathered(shards)
    if refused is not None:
        return refused
    items = [item for part in parts for item in part["items"]]
    return json_response({"items": sorted(items, key=lambda item: item.get("connected_at", 0.0))})


GATHERED: dict[str, Merge] = {
    "admin.admin_tree": tree,
    "admin.admin_runtime": runtime,
    "admin.admin_runtime_history": history,
    "campaigns.list_campaigns": by_address,
    "admin.admin_training": by_address,
    "health.ready": ready,
    "health.metrics": metrics,
    "search.search_everything": search,
    "search.admin_search": per_shard,
    "narrator.admin_narrator": narrator,
    "admin.admin_sessions": listed,
    "bridge.admin_bridges": listed,
}


async def dead_letters(shards: Shards) -> Response | None:
    """Dead letters of every shard in one order, (position, shard): the cursor's position ``p`` stands for
    ``position * count + shard``, so each shard is asked for what lies after its own part of it."""
    try:
        after, limit = page_args()
    except ApiError:  # malformed: this shard refuses it as any would
        return None
    count = shards.peers.count
    paths = []
    for shard in range(count):
        own = max(0, (after - shard) // count)  # its positions n with n * count + shard > after
        paths.append(f"{request.path}?{urlencode({'limit': limit, **({'cursor': cursor_for(own)} if own else {})})}")
    refused, parts = await gathered(shards, paths=paths)
    if refused is not None:
        return refused
    merged = sorted(({**item, "shard": shard, "at_position": item["n"] * count + shard}
                     for shard, part in enumerate(parts) for item in part["items"]),
                    key=lambda item: item["at_position"])
    more = len(merged) > limit or any(part["next_cursor"] for part in parts)
    items = merged[:limit]
    return json_response({"items": items, "next_cursor": cursor_for(items[-1]["at_position"]) if more and items
                          else None})


async def backup_set(shards: Shards) -> Response | None:
    """``POST /api/v1/admin/backup`` of a shard set: every shard checkpoints into ``NAME.partial/shards/<k>``
    at once; once all have, the layout goes beside them and ``NAME.partial`` becomes ``NAME``."""
    from ..requests import everturn
    from ..routes.admin import backup_name

    backup_dir = everturn().settings.backup_dir
    if backup_dir is None:
        return None  # 409 backup/disabled, as alone
    name = backup_name()
    staging = Path(backup_dir) / f"{name}{PARTIAL}"
    answers = await shards.send_all(extra=lambda shard: {BACKUP_TARGET: str(staging / SHARDS_DIR / str(shard))})
    refused = _refusal(answers)
    if refused is not None:
        await trio.to_thread.run_sync(partial(shutil.rmtree, staging, ignore_errors=True))
        return refused
    target = await trio.to_thread.run_sync(seal_shard_set, staging, Path(backup_dir) / name, shards.peers.count)
    return json_response({"backup": str(target), "shards": [orjson.loads(a.content)["backup"] for a in answers]}, 201)


GATHERED["admin.admin_dead_letters"] = dead_letters
GATHERED["admin.admin_backup"] = backup_set
