"""The operator console while the disk is full (issue 19): a banner says why writes are refused,
and it goes once the server has recovered by itself."""
from __future__ import annotations

import pytest

from ..faults import fill, small_disk
from .conftest import log_in, screenshot, serve


@pytest.mark.console_errors_expected  # the server it made stops under the open page at the end
def test_the_console_shows_a_full_disk_and_its_recovery(tmp_path, page):
    with small_disk(tmp_path / "disk", 24) as disk:
        served = serve(disk)
        try:
            with served.http() as http:
                assert http.post("/api/v1/actors/campaign/c1/commands",
                                 json={"type": "CreateCampaign", "data": {"title": "Bridge"}}).status_code == 200
                filler = fill(disk)
                for _ in range(5000):  # RocksDB's preallocated WAL fills first
                    answer = http.post("/api/v1/actors/campaign/c1/commands",
                                       json={"type": "PostNarration", "data": {"text": "Rain on the bridge. " * 100}})
                    if answer.status_code != 200:
                        break
                assert answer.status_code == 507 and answer.json()["error"]["code"] == "storage/full"
            log_in(page, served, served.operator)
            page.goto(served.ui + "/console")
            banner = page.locator("[data-test=storage]")
            banner.wait_for(state="visible", timeout=15_000)
            text = banner.inner_text()
            assert text.startswith("Storage degraded since") and "the disk is full" in text
            assert "No space left on device" in text and "recovers by itself" in text
            screenshot(page, "console-disk-full")

            filler.unlink()
            banner.wait_for(state="hidden", timeout=45_000)
            screenshot(page, "console-disk-recovered")
            with served.http() as http:
                assert http.post("/api/v1/actors/campaign/c1/commands",
                                 json={"type": "PostNarration", "data": {"text": "The rain stops."}}).status_code == 200
        finally:
            served.stop()
