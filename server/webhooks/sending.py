"""One delivery: a Discord-compatible JSON body, signed, sent to the checked address, never redirected.

Headers: ``X-Everturn-Event`` (the notice's kind), ``X-Everturn-Delivery`` (an id to de-duplicate a
retry), ``X-Everturn-Timestamp`` and ``X-Everturn-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<timestamp>.<body>`` under the webhook's secret.  A 2xx answer is a delivery; anything else, a
redirect included, is a failure to retry.  At most ``READ_CAP`` bytes of the answer are read.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from .targets import Target

READ_CAP = 64 * 1024
USER_AGENT = "Everturn-Webhook/1"
LABELS = {"your_turn": "Your turn", "turn_ending": "An hour left", "deadline": "A deadline approaches",
          "whisper": "A whisper", "mention": "You were mentioned", "narration": "New narration"}


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status: int | None = None
    error: str | None = None


def body(delivery: dict[str, Any], link: str | None) -> bytes:
    """What Discord (and any JSON receiver) reads: ``content`` for the channel, one embed with the details."""
    embed: dict[str, Any] = {"title": f"{LABELS.get(delivery['kind'], delivery['kind'])} · {delivery['title']}",
                             "description": delivery["text"][:4000]}
    if link:
        embed["url"] = link
    return orjson.dumps({"username": "Everturn", "content": f"**{delivery['title']}**: {delivery['text']}"[:2000],
                         "allowed_mentions": {"parse": []}, "embeds": [embed]})


def signature(secret: str, timestamp: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256).hexdigest()


async def send(client: httpx.AsyncClient, target: Target, secret: str, delivery: dict[str, Any],
               payload: bytes) -> Outcome:
    stamp = str(int(time.time()))
    headers = {"Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
               "Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Everturn-Event": delivery["kind"], "X-Everturn-Delivery": delivery["id"],
               "X-Everturn-Timestamp": stamp, "X-Everturn-Signature": signature(secret, stamp, payload)}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        request = client.build_request("POST", target.pinned_url, content=payload, headers=headers,
                                       extensions=extensions)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= READ_CAP:
                    break
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:300])
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code)
    if response.is_redirect:
        return Outcome(False, response.status_code, "the receiver answered with a redirect; webhooks do not follow "
                       "redirects (give the final URL)")
    return Outcome(False, response.status_code, f"the receiver answered {response.status_code}")
