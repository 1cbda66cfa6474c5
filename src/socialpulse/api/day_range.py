"""The day-range and bucket query parameters shared by the time-series routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import HTTPException, Query

from socialpulse.api.schemas import IsoDate
from socialpulse.api.windows import Window

StartDay = Annotated[IsoDate | None, Query(description="First UTC day (inclusive).")]
EndDay = Annotated[IsoDate | None, Query(description="Last UTC day (inclusive).")]
WindowParam = Annotated[Window, Query(description="Bucket size.")]


def check_day_range(start: date | None, end: date | None) -> None:
    """A 400 when both bounds are given and ``start`` is after ``end``."""
    if start is not None and end is not None and start > end:
        raise HTTPException(400, f"start {start} is after end {end}")
