"""everturn verify: every journal and snapshot of a data directory read back, and what is damaged named."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from snapshots import Batch, Store, codec, keys
from snapshots.store import JOURNAL
from snapshots.verify import verify

from ..damage import damaged_data


def everturn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, timeout=60)


def journal(path: Path, history: dict[str, list[int]], *, snapshot: tuple[str, int] | None = None) -> None:
    """Register and journal ``history`` (address: seqs), with one snapshot if asked."""
    store = Store.open(path)
    try:
        batch = Batch()
        for address, seqs in history.items():
            store.register_actor(batch, address, {"kind": "ledger"})
            for seq in seqs:
                store.append_event(batch, address, seq, {"t": "Added", "amount": seq})
        if snapshot is not None:
            store.put_snapshot(batch, snapshot[0], snapshot[1], {"total": 1})
        store.write([batch])
    finally:
        store.close()


def test_a_clean_data_directory_verifies_with_exit_code_0(tmp_path):
    journal(tmp_path / "data", {"ledger/a": [1, 2, 3], "ledger/b": [1]}, snapshot=("ledger/a", 2))

    result = everturn("verify", "--data", str(tmp_path / "data"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 actors, 4 events, 1 snapshots" in result.stdout and "no problems" in result.stdout


def test_a_damaged_sst_block_is_found_and_names_the_actor_it_hides(tmp_path):
    damaged_data(tmp_path / "data")

    result = everturn("verify", "--data", str(tmp_path / "data"), "--json")

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["damaged_actors"] == ["ledger/a"]
    [problem] = report["problems"]
    assert problem["cf"] == "journal" and "checksum mismatch" in problem["cause"]
    assert 1 < problem["seq"] <= 300
    assert report["events"] == problem["seq"] - 1 + 3  # ledger/b, past the damage, was read whole


def test_a_journal_value_with_a_flipped_byte_names_its_address_and_seq(tmp_path):
    journal(tmp_path / "data", {"ledger/a": [1, 2, 3]})
    raw = bytearray(codec.encode({"t": "Added", "amount": 2}))
    raw[-3] ^= 0x01
    store = Store.open(tmp_path / "data")
    try:
        batch = Batch()
        batch.put(JOURNAL, keys.seq_key("ledger/a", 2), bytes(raw))
        store.write([batch])
    finally:
        store.close()

    result = everturn("verify", "--data", str(tmp_path / "data"))

    assert result.returncode == 1
    assert "ledger/a seq 2 [journal]: unreadable event: checksum mismatch" in result.stdout
    assert "1 problems in 1 actors: ledger/a" in result.stdout


def test_a_gap_in_a_journal_and_a_snapshot_past_its_end_are_reported(tmp_path):
    journal(tmp_path / "data", {"ledger/a": [1, 2, 5], "ledger/b": [1, 2]}, snapshot=("ledger/b", 4))

    report = verify(tmp_path / "data")

    assert [(p.address, p.seq, p.cf) for p in report.problems] == [
        ("ledger/a", 3, "journal"), ("ledger/b", 4, "snapshots")]
    assert "seqs 3-4 missing: the journal jumps from 2 to 5" in report.problems[0].cause
    assert "newer than the journal (last seq 2)" in report.problems[1].cause


def test_an_unregistered_journal_is_reported(tmp_path):
    store = Store.open(tmp_path / "data")
    try:
        batch = Batch()
        store.append_event(batch, "ledger/stray", 1, {"t": "Added", "amount": 1})
        store.write([batch])
    finally:
        store.close()

    [problem] = verify(tmp_path / "data").problems

    assert (problem.address, problem.cf) == ("ledger/stray", "meta") and "not registered" in problem.cause


def test_verify_runs_beside_the_process_that_holds_the_store(tmp_path):
    journal(tmp_path / "data", {"ledger/a": [1, 2]})
    held = Store.open(tmp_path / "data")  # this process plays the running server
    try:
        batch = Batch()
        held.append_event(batch, "ledger/a", 3, {"t": "Added", "amount": 3})  # only in its WAL so far
        held.write([batch])
        result = everturn("verify", "--data", str(tmp_path / "data"))
    finally:
        held.close()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 actors, 3 events" in result.stdout


def test_a_directory_that_cannot_be_opened_exits_2(tmp_path):
    result = everturn("verify", "--data", str(tmp_path / "nowhere"))

    assert result.returncode == 2
    assert f"no Everturn data directory at {tmp_path / 'nowhere'}" in result.stderr
    assert not (tmp_path / "nowhere").exists()
