"""kill -9 while the index is fed: reopened, it catches up with the journal, and every post is in
it exactly once (a batch committed but not yet recorded in state.json is only added again).

A child journals posts and feeds them to the index, committing after every few; we SIGKILL
it at a random moment, a few times over, then open the directory and check.  Set
EVERTURN_KILL9_SEED to replay a run.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from actors.campaign.search import SearchProjection
from snapshots import Store
from snapshots.search import Feeder, search_root

from .killing import kill_after

ROOT = Path(__file__).resolve().parents[2]  # the repository: the child imports snapshots from it
CHILD = r"""
import sys
from pathlib import Path
from actors.campaign.search import SearchProjection
from snapshots import Batch, Store
from snapshots.search import Feeder, search_root

data = Path(sys.argv[1])
store = Store.open(data)
feeder = Feeder.open(store, SearchProjection(), search_root(data))
feeder.sync_books()
feeder.feed(feeder.behind())
feeder.commit()
n = store.last_seq("campaign/k1")
while True:
    for _ in range(3):
        n += 1
        batch = Batch()
        if n == 1:
            store.register_actor(batch, "campaign/k1", {"kind": "campaign"})
        store.append_event(batch, "campaign/k1", n, {"t": "Posted", "v": 1, "d": {"post": {
            "n": n, "kind": "action", "author": "ayla", "text": f"post number {n} about the lantern",
            "at": 1000.0 + n, "scene": 0}}})
        store.write([batch])
    feeder.feed(["campaign/k1"])
    feeder.commit()
    print(n, flush=True)
"""


def run_until_killed(data, commits: int) -> int:
    """Start a feeding child, kill -9 it after ``commits`` commits; the last post it said was indexed."""
    lines = kill_after([sys.executable, "-c", CHILD, str(data)], commits, what="the feeding child", cwd=ROOT)
    return int(lines[-1])


def test_every_post_is_indexed_once_after_kill_9(tmp_path):
    seed = int(os.environ.get("EVERTURN_KILL9_SEED", random.SystemRandom().randrange(2**32)))
    rng = random.Random(seed)
    data = tmp_path / "data"
    said = 0
    for _ in range(3):
        said = run_until_killed(data, rng.randint(2, 12))
    store = Store.open(data)
    try:
        posts = store.last_seq("campaign/k1")
        feeder = Feeder.open(store, SearchProjection(), search_root(data))
        assert feeder.cursors.get("campaign/k1", 0) <= posts
        assert feeder.index.search("lantern", "posts")["total"] >= said, f"seed {seed}: a committed post is gone"
        feeder.feed(feeder.behind())
        feeder.commit()
        counts = feeder.index.counts()
        assert counts["posts"] == posts, f"seed {seed}: {counts['posts']} posts indexed, {posts} journaled"
        assert feeder.index.documents() == counts["posts"] + counts["rules"]     # none twice
        for n in (1, posts // 2, posts):
            assert feeder.index.search(f'"post number {n} about"', "posts")["total"] == 1, f"seed {seed}: post {n}"
        feeder.close()
    finally:
        store.close()
