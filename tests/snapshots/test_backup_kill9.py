"""kill -9 in the middle of a backup or a restore: nothing half-done ever wears a finished name.

The child is the everturn command itself, stopped for good inside its copy (``_stalled.py``),
so the kill lands mid-way every time.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snapshots import Batch, Store, backup

from .killing import kill_after
from .test_backup import HISTORY, everturn, journal_of, write_history

ROOT = Path(__file__).parents[2]


def killed_mid_copy(*args: str) -> None:
    kill_after([sys.executable, "-m", "tests.snapshots._stalled", *args], 1, what=f"everturn {' '.join(args)}",
               cwd=ROOT)


def a_backup_with_blobs(tmp_path: Path) -> Path:
    store = Store.open(tmp_path / "data")
    try:
        write_history(store)
        registered = Batch()
        for address in HISTORY:
            store.register_actor(registered, address, {"kind": address.split("/")[0]})
        store.write([registered])
        job = tmp_path / "data" / "blobs" / "train" / "j1"
        job.mkdir(parents=True)
        for n in range(5):
            (job / f"ckpt-{n:09d}.pt").write_bytes(b"w" * 4096)
        return backup(store, tmp_path / "backup")
    finally:
        store.close()


def test_a_backup_killed_while_copying_blobs_leaves_only_a_partial_directory(tmp_path):
    a_backup_with_blobs(tmp_path)

    killed_mid_copy("backup", str(tmp_path / "backups" / "b1"), "--data", str(tmp_path / "data"))

    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["b1.partial"]
    assert (tmp_path / "backups" / "b1.partial" / "CURRENT").is_file()  # the checkpoint was done, the blobs not
    again = everturn("backup", str(tmp_path / "backups" / "b1"), "--data", str(tmp_path / "data"))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["b1"]
    assert len(list((tmp_path / "backups" / "b1" / "blobs" / "train" / "j1").iterdir())) == 5


@pytest.mark.parametrize("made_by_operator", [True, False], ids=["empty-target", "no-target"])
def test_serve_refuses_a_data_directory_whose_restore_was_killed_until_it_is_run_again(tmp_path, made_by_operator):
    a_backup_with_blobs(tmp_path)
    target = tmp_path / "restored"
    if made_by_operator:
        target.mkdir()

    killed_mid_copy("restore", str(tmp_path / "backup"), "--data", str(target))

    staging = tmp_path / "restored.restoring"
    assert staging.is_dir()
    for refused in (everturn("serve", "--data", str(target), "--no-ui", "--no-narrator", "--port", "0"),
                    everturn("token", "create", "--role", "operator", "--data", str(target))):
        assert refused.returncode == 2
        assert f"a restore into {target} was interrupted: {staging} is its partial copy" in refused.stderr
        assert f"'everturn restore SOURCE --data {target}'" in refused.stderr
        assert f"remove {staging}" in refused.stderr
    assert not target.exists() or list(target.iterdir()) == []  # no fresh store, no new operator token

    finished = everturn("restore", str(tmp_path / "backup"), "--data", str(target))

    assert finished.returncode == 0, finished.stderr
    assert not staging.exists()
    assert journal_of(target) == HISTORY
    assert len(list((target / "blobs" / "train" / "j1").iterdir())) == 5
    verified = everturn("verify", "--data", str(target))
    assert verified.returncode == 0, verified.stdout
