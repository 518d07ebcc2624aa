"""Files written whole or not at all: the new data is synced before the rename, the directory after."""
from __future__ import annotations

import os

import pytest

from snapshots import files
from snapshots.files import publish, replacing, write_atomically


@pytest.fixture
def calls(monkeypatch):
    """What reached the disk, in order: ('fsync', what) and ('replace', target)."""
    seen: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        seen.append(("fsync", "dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"))
        real_fsync(fd)

    def replace(src, dst):
        seen.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    return seen


def test_a_file_is_replaced_whole_synced_before_and_its_directory_after(tmp_path, calls):
    target = tmp_path / "deep" / "state.json"
    write_atomically(target, b"old")
    calls.clear()
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert calls == [("fsync", "file"), ("replace", "state.json"), ("fsync", "dir")]
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_a_writer_that_fails_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"weights at 200")
    with pytest.raises(RuntimeError):
        with replacing(target) as partial:
            partial.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"weights at 200"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_several_files_are_all_synced_before_the_first_is_renamed(tmp_path, calls):
    temporaries = {}
    for name in ("events.jsonl", "rolls.jsonl"):
        temporaries[tmp_path / name] = tmp_path / f".{name}.tmp"
        temporaries[tmp_path / name].write_bytes(name.encode())
    publish(temporaries)
    assert [kind for kind, _ in calls] == ["fsync", "fsync", "replace", "replace", "fsync"]
    assert (tmp_path / "rolls.jsonl").read_bytes() == b"rolls.jsonl"
