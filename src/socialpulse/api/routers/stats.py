"""Counts of what the serving database holds, for dashboards and smoke checks."""

from fastapi import APIRouter

from socialpulse.api.schemas import StatsRead
from socialpulse.storage.base import StoreReader


def build_router(store: StoreReader) -> APIRouter:
    """``GET /v1/stats``."""
    router = APIRouter(prefix="/v1", tags=["stats"])

    @router.get("/stats", response_model=StatsRead)
    def stats() -> StatsRead:
        """Stored posts, quarantined records, profiles, trend rows, recommendations, labels."""
        return StatsRead(
            posts=store.count("posts"),
            quarantined=store.count("quarantine"),
            users=store.count("user_profiles"),
            hashtag_days=store.count("hashtag_trends"),
            recommendations=store.count("recommendations"),
            labels=store.label_distribution(),
        )

    return router
