"""Online backups through the operator API, and what a killed one leaves for the next start to clear."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from snapshots import Store

from ..snapshots.killing import kill_after
from .conftest import assert_error, bearer, http_client, operator_token

ROOT = Path(__file__).parents[2]


def a_backup_killed_mid_copy(data: Path, backups: Path) -> None:
    """A stopped server's data (with a blob file), backed up into ``backups/b1`` and killed -9 mid-way."""
    store = Store.open(data)
    store.close()
    (data / "blobs" / "train" / "j1").mkdir(parents=True)
    (data / "blobs" / "train" / "j1" / "ckpt-000000001.pt").write_bytes(b"weights")
    kill_after([sys.executable, "-m", "tests.snapshots._stalled", "backup", str(backups / "b1"), "--data", str(data)],
               1, what="everturn backup", cwd=ROOT)


async def test_the_next_start_removes_what_a_killed_backup_left_and_reports_it(launch, tmp_path, caplog):
    backups = tmp_path / "backups"
    a_backup_killed_mid_copy(tmp_path / "data0", backups)
    (backups / "b0.tmp").mkdir()  # a RocksDB checkpoint cut short, as older versions left them
    assert sorted(p.name for p in backups.iterdir()) == ["b0.tmp", "b1.partial"]
    caplog.set_level(logging.WARNING, logger="everturn")

    running = await launch(backup_dir=str(backups))

    assert list(backups.iterdir()) == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(backups / "b1.partial") in line for line in warned)
    assert any(str(backups / "b0.tmp") in line for line in warned)
    async with http_client(running) as http:
        operator = bearer(operator_token(running))
        made = await http.post("/api/v1/admin/backup", headers=operator)
        assert made.status_code == 201, made.text
        listing = (await http.get("/api/v1/admin/backups", headers=operator)).json()
    assert [item["path"] for item in listing["items"]] == [made.json()["backup"]]
    assert listing["items"][0]["bytes"] > 0 and listing["items"][0]["created"] > 0
    assert [(i["name"], i["removed_at"] is not None) for i in listing["interrupted"]] == [
        ("b0.tmp", True), ("b1.partial", True)]


async def test_the_backup_listing_shows_interrupted_backups_present_now(launch, tmp_path):
    running = await launch(backup_dir=str(tmp_path / "backups"))
    a_backup_killed_mid_copy(tmp_path / "other", tmp_path / "backups")  # another process's, after the start

    async with http_client(running) as http:
        listing = (await http.get("/api/v1/admin/backups", headers=bearer(operator_token(running)))).json()

    assert listing["items"] == []
    assert listing["interrupted"] == [
        {"name": "b1.partial", "path": str(tmp_path / "backups" / "b1.partial"), "removed_at": None}]


async def test_the_backup_listing_is_for_operators_and_needs_a_backup_dir(launch):
    running = await launch()
    async with http_client(running) as http:
        assert_error(await http.get("/api/v1/admin/backups"), 401, "auth/missing")
        assert_error(await http.get("/api/v1/admin/backups", headers=bearer(operator_token(running))), 409,
                     "backup/disabled")
