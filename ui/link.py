"""The UI's way to the server: REST through httpx, streams through the bots' Python client.

One :class:`Link` per logged-in browser: the token stays in this process's memory (never
in a cookie or on disk), and every call carries it.  Errors come back as
:class:`LinkError` with the server's machine-readable code and its message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from server.client import ClientError, EverturnClient

TIMEOUT = 10.0


class LinkError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


@dataclass(frozen=True)
class Who:
    """What the server said about a token when it said hello."""

    role: str
    campaign: str | None
    character: str | None
    clock: str

    @property
    def operator(self) -> bool:
        return self.role == "operator"

    @property
    def gm(self) -> bool:
        return self.role in ("operator", "gm")

    @property
    def viewer(self) -> dict[str, Any]:
        """This token as the campaign's rules read a principal (``ctx.by``): who may see and change what."""
        return {"role": self.role, "campaign": self.campaign, "character": self.character}


def ws_url(server: str) -> str:
    return server.replace("https://", "wss://", 1).replace("http://", "ws://", 1).rstrip("/") + "/ws"


def hello(server: str, token: str) -> Who:
    """Check a token by saying hello over the websocket (blocking; run it in a thread)."""
    client = EverturnClient(ws_url(server), token, client="everturn-ui", reconnect=False, timeout=TIMEOUT)
    try:
        welcome = client.connect()
    except ClientError as exc:
        raise LinkError(401, exc.code, exc.message) from exc
    except (OSError, TimeoutError) as exc:
        raise LinkError(503, "ui/server_unreachable", f"cannot reach the server at {server}: {exc}") from exc
    finally:
        client.close()
    return Who(welcome["role"], welcome.get("campaign"), welcome.get("character"), welcome.get("clock", "real"))


async def claim_invite(server: str, campaign_id: str, code: str) -> dict[str, Any]:
    """Turn an invite's code into a player token (no token needed); ``LinkError`` says why not."""
    async with httpx.AsyncClient(base_url=server.rstrip("/"), timeout=TIMEOUT, trust_env=False) as http:
        try:
            response = await http.post(f"/api/v1/campaigns/{campaign_id}/invites/claim", json={"code": code})
        except httpx.HTTPError as exc:
            raise LinkError(503, "ui/server_unreachable", f"cannot reach the server: {exc}") from exc
    return Link._answer(response)  # type: ignore[no-any-return]


class Link:
    def __init__(self, server: str, token: str, who: Who) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.who = who
        self._http = httpx.AsyncClient(base_url=self.server, timeout=TIMEOUT, trust_env=False,
                                       headers={"Authorization": f"Bearer {token}"})

    async def get(self, path: str, **params: Any) -> Any:
        return self._answer(await self._request("GET", path, params={k: v for k, v in params.items() if v is not None}))

    async def post(self, path: str, body: Any = None) -> Any:
        return self._answer(await self._request("POST", path, json=body if body is not None else {}))

    async def put(self, path: str, body: Any) -> Any:
        return self._answer(await self._request("PUT", path, json=body))

    async def delete(self, path: str) -> Any:
        return self._answer(await self._request("DELETE", path))

    async def command(self, address: str, type_: str, data: dict[str, Any]) -> Any:
        return await self.post(f"/api/v1/actors/{address}/commands", {"type": type_, "data": data})

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LinkError(503, "ui/server_unreachable", f"cannot reach the server: {exc}") from exc

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise LinkError(response.status_code, error.get("code", "http"), error.get("message", response.text[:200]),
                            error.get("details"))
        return body

    def stream(self) -> EverturnClient:
        """A websocket client for this token (connect it in a thread: it blocks)."""
        return EverturnClient(ws_url(self.server), self.token, client="everturn-ui", timeout=TIMEOUT)

    async def close(self) -> None:
        await self._http.aclose()


def error_text(exc: Exception) -> str:
    """What to tell a person about a failed call: the server's message, why (a 422's validation
    details: ``expression: cannot read '2d6+' as dice; ...``), and its code."""
    if isinstance(exc, (LinkError, ClientError)):
        why = reasons(exc.details)
        return f"{exc.message}{': ' + why if why else ''} ({exc.code})"
    return str(exc)


def reasons(details: Any) -> str:
    """The reasons in a validation error's details (pydantic's ``[{loc, msg}]``), or ''."""
    if not isinstance(details, list):
        return ""
    out = []
    for item in details[:3]:
        if not isinstance(item, dict) or not isinstance(item.get("msg"), str):
            continue
        msg = item["msg"].removeprefix("Value error, ")
        loc = ".".join(str(part) for part in item.get("loc") or [])
        out.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(out)
