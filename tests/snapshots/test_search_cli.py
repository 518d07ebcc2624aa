"""``everturn rules`` and ``everturn reindex`` on a stopped server's data directory, refused on a
running one; ``everturn bench search`` reports its figures."""
from __future__ import annotations

import orjson

from server.cli import main
from actors.campaign.search import SearchProjection
from snapshots import Store
from snapshots.search import Feeder, search_root
from server.bench.search import measure

HOUSE = "# Salt Road Rules\n[page 41]\n## Flanking\nTwo allies on opposite sides of a foe make it off-guard.\n"


def test_import_list_reindex_and_search_a_book(tmp_path, capsys):
    data = tmp_path / "data"
    (tmp_path / "salt-road.md").write_text(HOUSE, encoding="utf-8")
    assert main(["rules", "import", str(tmp_path / "salt-road.md"), "--attribution", "by us", "--data", str(data)]) == 0
    assert "imported salt-road (Salt Road Rules): 1 pages" in capsys.readouterr().out
    assert main(["rules", "import", str(tmp_path / "salt-road.md"), "--data", str(data)]) == 0
    assert capsys.readouterr().out.startswith("replaced salt-road")
    assert main(["reindex", "--data", str(data)]) == 0
    assert "reindexed" in capsys.readouterr().out
    assert main(["rules", "list", "--json", "--data", str(data)]) == 0
    books = orjson.loads(capsys.readouterr().out)["books"]
    assert [b["name"] for b in books] == ["everturn-rules", "salt-road"]   # reindex stored the reference
    store = Store.open(data)
    try:
        feeder = Feeder.open(store, SearchProjection(), search_root(data))
        [hit] = feeder.index.search("flanking", "rules", {"book": "salt-road"})["items"]
        assert (hit["citation"]["page"], hit["citation"]["section"]) == (41, "Flanking")
        feeder.close()
    finally:
        store.close()
    assert main(["rules", "remove", "salt-road", "--data", str(data)]) == 0
    assert main(["rules", "remove", "salt-road", "--data", str(data)]) == 2
    assert "no book 'salt-road'" in capsys.readouterr().err


def test_what_cannot_be_imported_exits_2_with_a_reason(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["rules", "import", "--data", str(data)]) == 2
    assert "give a file to import, or --srd" in capsys.readouterr().err
    assert main(["rules", "import", str(tmp_path / "missing.md"), "--data", str(data)]) == 2
    assert "no file" in capsys.readouterr().err
    (tmp_path / "ours.md").write_text(HOUSE, encoding="utf-8")
    assert main(["rules", "import", str(tmp_path / "ours.md"), "--book", "everturn-rules", "--data", str(data)]) == 2
    assert "rules reference Everturn ships" in capsys.readouterr().err
    assert main(["reindex", "--data", str(tmp_path / "nowhere")]) == 2


def test_a_running_servers_data_directory_is_refused_naming_the_api(tmp_path, capsys):
    data = tmp_path / "data"
    (tmp_path / "ours.md").write_text(HOUSE, encoding="utf-8")
    held = Store.open(data)  # as a running server holds it
    try:
        assert main(["rules", "import", str(tmp_path / "ours.md"), "--data", str(data)]) == 2
        assert "POST /api/v1/admin/rules" in capsys.readouterr().err
        assert main(["reindex", "--data", str(data)]) == 2
        assert "POST /api/v1/admin/search/reindex" in capsys.readouterr().err
    finally:
        held.close()


def test_the_bench_measures_indexing_and_queries_beside_their_baselines():
    result = measure(count=30, seed=3)
    assert result["details"]["pages"] == 362 and result["details"]["queries"] == 30
    for key in ("pages_per_s", "query_p50_ms", "query_p99_ms", "ask_p50_ms", "scan_p50_ms", "scan_ratio"):
        assert result[key] > 0, key
    assert result["query_p99_ms"] >= result["query_p50_ms"]
