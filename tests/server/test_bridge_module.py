"""The Foundry module as ``everturn serve`` hands it out (issue 24): the manifest and zip name the server as
the request reached it (a proxy's https included), and the VTT's page may call the bridge API."""
from __future__ import annotations

import io
import json
import zipfile

from .conftest import http_client


async def test_the_manifest_and_zip_name_the_server_as_reached_behind_a_proxy_too(server):
    async with http_client(server) as http:
        direct = await http.get("/bridge/foundry/module.json")
        assert direct.status_code == 200, direct.text
        assert json.loads(direct.content)["manifest"] == f"{server.url}/bridge/foundry/module.json"
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "vtt.example", "X-Forwarded-Prefix": "/everturn"}
        manifest = json.loads((await http.get("/bridge/foundry/module.json", headers=proxied)).content)
        assert manifest["id"] == "everturn-bridge"
        assert manifest["download"] == "https://vtt.example/everturn/bridge/foundry/everturn-bridge.zip"

        got = await http.get("/bridge/foundry/everturn-bridge.zip", headers=proxied)
        assert got.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(got.content)) as zipped:
            names = set(zipped.namelist())
            assert {"module.json", *manifest["esmodules"]} <= names
            assert "package.json" not in names
            assert json.loads(zipped.read("module.json")) == manifest


async def test_the_vtts_page_may_call_the_bridge_api_from_its_own_origin(server):
    async with http_client(server) as http:
        preflight = await http.options("/api/v1/campaigns/c1/bridge/w1/events", headers={
            "Origin": "https://foundry.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-bridge-instance"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "X-Bridge-Instance" in preflight.headers["access-control-allow-headers"]
        refused = await http.get("/api/v1/campaigns/c1/bridge/w1/events", headers={"Origin": "https://foundry.example"})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
        other = await http.get("/api/v1/campaigns", headers={"Origin": "https://foundry.example"})
        assert "access-control-allow-origin" not in other.headers  # only the bridge is opened
