"""Online backups and restores, through the API and through the everturn command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from snapshots import Batch, RestoreTargetNotEmpty, Store, StoreError, backup, restore

HISTORY = {
    "campaign/7f3a": [{"t": "Joined", "player": "ana"}, {"t": "ActionPosted", "text": "I open the door"}],
    "combat/7f3a.2": [{"t": "Rolled", "faces": [3, 6]}],
}


def write_history(store: Store) -> None:
    batch = Batch()
    for address, events in HISTORY.items():
        for seq, event in enumerate(events, start=1):
            store.append_event(batch, address, seq, event)
    store.write([batch])


def journal_of(path: Path) -> dict[str, list]:
    store = Store.open(path)
    try:
        return {address: [event for _, event in store.read_journal(address)] for address in HISTORY}
    finally:
        store.close()


def files_under(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def everturn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, timeout=60)


def test_a_backup_of_an_open_store_restores_into_an_empty_directory(store, tmp_path):
    write_history(store)
    backup(store, tmp_path / "backup")
    (tmp_path / "empty").mkdir()

    restore(tmp_path / "backup", tmp_path / "restored")
    restore(tmp_path / "backup", tmp_path / "empty")

    assert journal_of(tmp_path / "restored") == HISTORY
    assert journal_of(tmp_path / "empty") == HISTORY


def test_a_backup_carries_the_blob_files_the_journal_names_but_not_half_written_ones(store, tmp_path):
    write_history(store)
    job = Path(store.path) / "blobs" / "train" / "j1"
    job.mkdir(parents=True)
    (job / "ckpt-000000200.pt").write_bytes(b"weights at 200")
    (job / "ckpt-000000400.partial").write_bytes(b"half")
    backup(store, tmp_path / "backup")
    restore(tmp_path / "backup", tmp_path / "restored")
    restored = tmp_path / "restored" / "blobs" / "train" / "j1"
    assert sorted(p.name for p in restored.iterdir()) == ["ckpt-000000200.pt"]
    assert (restored / "ckpt-000000200.pt").read_bytes() == b"weights at 200"
    assert journal_of(tmp_path / "restored") == HISTORY


def test_restore_refuses_a_directory_that_holds_files_and_leaves_them_alone(store, tmp_path):
    write_history(store)
    backup(store, tmp_path / "backup")
    target = tmp_path / "live"
    target.mkdir()
    (target / "notes.txt").write_text("the only copy")
    before = files_under(target)

    with pytest.raises(RestoreTargetNotEmpty, match=str(target)):
        restore(tmp_path / "backup", target)

    assert files_under(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "data", "live"]


def test_backup_refuses_a_target_that_already_exists(store, tmp_path):
    (tmp_path / "backup").mkdir()
    with pytest.raises(StoreError, match="already exists"):
        backup(store, tmp_path / "backup")
    assert list((tmp_path / "backup").iterdir()) == []


@pytest.mark.parametrize("contents", [None, {}, {"photo.jpg": b"\xff\xd8"}], ids=["missing", "empty", "unrelated"])
def test_restore_of_something_that_is_not_a_backup_is_refused(tmp_path, contents):
    source = tmp_path / "source"
    if contents is not None:
        source.mkdir()
        for name, data in contents.items():
            (source / name).write_bytes(data)

    with pytest.raises(StoreError, match="not an Everturn backup"):
        restore(source, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_the_everturn_command_backs_up_and_restores_a_stopped_server(tmp_path):
    store = Store.open(tmp_path / "data")
    write_history(store)
    store.close()

    backed_up = everturn("backup", str(tmp_path / "backup"), "--data", str(tmp_path / "data"))
    assert backed_up.returncode == 0, backed_up.stderr
    restored = everturn("restore", str(tmp_path / "backup"), "--data", str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stderr

    assert journal_of(tmp_path / "restored") == HISTORY
    assert journal_of(tmp_path / "data") == HISTORY


def test_the_everturn_command_will_not_restore_over_a_data_directory(tmp_path):
    store = Store.open(tmp_path / "data")
    write_history(store)
    backup(store, tmp_path / "backup")
    store.close()
    before = files_under(tmp_path / "data")

    refused = everturn("restore", str(tmp_path / "backup"), "--data", str(tmp_path / "data"))

    assert refused.returncode == 2
    assert f"restore target {tmp_path / 'data'} is not empty" in refused.stderr
    assert files_under(tmp_path / "data") == before
