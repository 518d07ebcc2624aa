"""The Foundry VTT module (``server/bridge/foundry/``) as ``everturn serve`` hands it out: the manifest and
the zip Foundry's "Install Module" dialog downloads, both naming this server as it was reached.

The manifest in the repo says ``{{BASE}}`` where the server's own URL goes; it is filled in per
request from the scheme, host and path prefix the request came by (a proxy's ``X-Forwarded-*``
headers first), so a server behind HTTPS hands out ``https://`` links and the module talks
``wss://``: no scheme is written into the module.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

FOLDER = Path(__file__).parent / "foundry"
ZIP_NAME = "everturn-bridge.zip"
SHIPPED = ("module.json", "lang", "scripts")  # package.json is for Node's tests only


def base_url(scheme: str, host: str, forwarded: dict[str, str]) -> str:
    """The server's URL as the client reached it: ``X-Forwarded-Proto``/``-Host``/``-Prefix`` when a proxy
    sent them."""
    scheme = forwarded.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
    host = forwarded.get("x-forwarded-host", host).split(",")[0].strip() or host
    prefix = forwarded.get("x-forwarded-prefix", "").strip().rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    return f"{scheme}://{host}{prefix}"


def manifest(base: str) -> bytes:
    return (FOLDER / "module.json").read_text(encoding="utf-8").replace("{{BASE}}", base).encode()


def archive(base: str) -> bytes:
    """The module as Foundry installs it: its files at the zip's root, the manifest naming ``base``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("module.json", manifest(base))
        for top in SHIPPED[1:]:
            for path in sorted((FOLDER / top).rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(FOLDER).as_posix())
    return out.getvalue()
