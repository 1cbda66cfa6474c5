"""What the MongoDB store adds to the shared contract (tests/test_store_contract.py): its
document shapes and indexes, per-document idempotent increments, and its URL options.

Runs on the session's MongoDB test server (SecantusDB, or ``SOCIALPULSE_TEST_MONGODB_URL``).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from socialpulse.domain.aggregates import HASHTAG_TRENDS
from socialpulse.domain.columns import Col
from socialpulse.storage.base import StoreSpec
from socialpulse.storage.factory import STORE_KINDS
from socialpulse.storage.mongo import MongoStore
from tests.store_data import posts_frame, recs_frame, trends_frame


@pytest.fixture
def store(mongodb_url: str) -> Iterator[MongoStore]:
    """A MongoDB store on a fresh database, schema set up."""
    s = MongoStore(StoreSpec(mongodb_url))
    s.create_schema()
    yield s
    s.close()


def test_documents_are_shaped_for_mongodb(store: MongoStore) -> None:
    frame = posts_frame(2, n_authors=1)
    frame[Col.RAW] = [json.dumps({"id": "p0", "n": [1, 2]}), None]
    frame[Col.SENTIMENT_STATUS] = "ok"  # every column: each document is replaced whole
    store.write_posts(frame)
    store.write_posts(posts_frame(2, n_authors=1))  # some columns: $set, the rest stays
    post = store.db["posts"].find_one({"_id": "p0"})
    assert post is not None
    assert post["created_at"] == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a BSON date
    assert post["day"] == datetime(2026, 3, 1, tzinfo=UTC)  # a UTC day: its midnight
    assert post["sentiment"]["label"] == frame[Col.SENTIMENT_LABEL].iloc[0]
    assert set(post["sentiment"]["probabilities"]) == {"negative", "neutral", "positive"}
    assert (post["sentiment"]["model_version"], post["sentiment"]["status"]) == ("3.3.2", "ok")
    assert post["metrics"]["like_count"] == 0
    assert post["raw"] == {"id": "p0", "n": [1, 2]}
    assert post["hashtags"] == ["tag0", "topic0"]
    # One recommendations document per user, items in rank order whatever the write order.
    recs = recs_frame("a", ["p1", "p2", "p3"], "als").iloc[[2, 0, 1]]
    recs[Col.REASON_TEXT] = "$price"  # a "$" string is a value, never a field path
    store.write_recommendations(recs)
    doc = store.db["recommendations"].find_one({"_id": "a"})
    assert doc is not None
    assert [(i["rank"], i["post_id"]) for i in doc["items"]] == [(1, "p1"), (2, "p2"), (3, "p3")]
    assert doc["items"][0]["reason_text"] == "$price"
    store.write_aggregate(HASHTAG_TRENDS, trends_frame("spark", [date(2026, 3, 1)], [5]))
    trend = store.db["hashtag_trends"].find_one()
    assert trend is not None
    assert trend["_id"] == {"hashtag": "spark", "day": datetime(2026, 3, 1, tzinfo=UTC)}


def test_schema_has_a_version_and_the_api_indexes(store: MongoStore) -> None:
    assert store.schema_revision().current == "m0002"
    names = set(store.db["posts"].index_information())
    assert {"ix_posts_created_id", "ix_posts_author_recent", "ix_posts_day_label"} <= names
    assert "ix_posts_topic" in names  # m0002: topics
    assert "ix_topic_trends_version_day" in store.db["topic_trends"].index_information()
    assert "ix_trends_tag_day" in store.db["hashtag_trends"].index_information()
    with pytest.raises(ValueError, match="unknown schema revision 'nope'"):
        store.create_schema("nope")


def _trend(n: int, mean: float) -> dict[str, pd.DataFrame]:
    row = {Col.HASHTAG: "x", Col.DAY: date(2026, 10, 3), Col.N_POSTS: n, Col.N_NEGATIVE: 0}
    row |= {Col.N_NEUTRAL: 0, Col.N_POSITIVE: n, Col.MEAN_SCORE: mean}
    return {"hashtag_trends": pd.DataFrame([row])}


@pytest.mark.parametrize("stream", ["3f0c-checkpoint", "odd.id$with/dots"])
def test_a_half_applied_batch_is_completed_without_double_counting(
    store: MongoStore, stream: str
) -> None:
    # A crash after the documents were merged but before the batch's mark, then Spark's replay
    # of the batch, and the driver's retry of one document's write: each counts once.
    assert store.add_increments(stream, 0, _trend(2, 0.5))
    store._merge_increments(stream, 1, _trend(3, 1.0))
    store._merge_increments(stream, 1, _trend(3, 1.0))
    assert store.add_increments(stream, 1, _trend(3, 1.0))
    assert not store.add_increments(stream, 1, _trend(3, 1.0))
    (row,) = store.hashtag_trend("x")
    assert (row[Col.N_POSTS], row[Col.N_POSITIVE]) == (5, 5)
    assert row[Col.MEAN_SCORE] == pytest.approx((2 * 0.5 + 3 * 1.0) / 5)
    assert "_applied" not in row


def test_write_concern_retryable_writes_and_pool_come_from_the_url(mongodb_url: str) -> None:
    store = MongoStore(StoreSpec(f"{mongodb_url}?w=majority&journal=true&retryWrites=false"))
    assert store.db.write_concern.document == {"w": "majority", "j": True}
    assert store.client.options.retry_writes is False
    assert store.client.options.pool_options.max_pool_size == 15  # pool_size + max_overflow
    assert store.ping()
    store.close()


def test_srv_urls_pick_the_mongo_store_and_hide_the_password() -> None:
    spec = StoreSpec("mongodb+srv://app:s3cret@cluster0.example.net/pulse?w=majority")
    assert STORE_KINDS[spec.scheme] == "socialpulse.storage.mongo:MongoStore"
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert "s3cret" not in repr(spec)
    assert "app:***@cluster0.example.net" in repr(spec)


def test_pymongo_is_imported_only_by_a_mongo_store() -> None:
    code = (
        "import sys, tempfile\n"
        "from socialpulse.storage.factory import create_store\n"
        "d = tempfile.mkdtemp()\n"
        "create_store(f'sqlite:///{d}/x.db').ping()\n"
        "print('pymongo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
