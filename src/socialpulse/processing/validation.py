"""Validation of raw JSON-lines records: typed rows for the good, a reason for the bad.

Parsing uses Spark's VARIANT type (``try_parse_json``) so that each failure gets a precise
reason - malformed JSON, a missing field, a wrong type, a bad timestamp - without a Python
round trip per row.

The checks are written as Spark SQL text, built in plain Python and parsed once per column by
the JVM. Built with the Column API, the ~60 checks were ~6,700 Py4J round trips, ~1.1 s of
driver time for every stream micro-batch whatever its size (``bench/bench_stream_floor.py``).
Each field's parts (its variant value, presence, JSON type, typed value) are computed once per
row in projections of their own, and the checks read them as columns: written inline, every
branch of the CASE re-ran ``variant_get``/``schema_of_variant`` (Spark shares no common
subexpression across CASE branches, which run conditionally), and a valid record - the
common case - runs every branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame
from pyspark.sql.types import DataType, DoubleType, LongType, StringType

from socialpulse.domain.columns import Col
from socialpulse.processing.sqltext import ident, sql_string

_V = "_v"
VALUE = "value"
"""Column holding one raw line, as produced by ``spark.read.text``."""

MIN_TIMESTAMP = "2006-03-21 00:00:00"
"""The earliest timestamp a record may carry: the first post ever on Twitter."""

FUTURE_SLACK = timedelta(days=1)
"""How far past now a record's timestamp may be (clocks differ), before rounding to the hour."""

_NUMBER_TYPES = "('TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE')"

Check = tuple[str, str]
"""A condition and the reason it gives, both Spark SQL expressions."""


def latest_plausible(now: datetime | None = None) -> datetime:
    """The latest timestamp a record may carry: ``FUTURE_SLACK`` after now, up to the hour.

    The bound is a literal in the code Spark generates for the validation. ``current_timestamp()``
    is one too, folded in when a query is planned, so every stream micro-batch generated new
    validation and raw-layer code for Janino to compile (6 compilations per batch, now 2).
    Rounded up to the hour, the bound changes once an hour and the compiled classes are reused
    in between.
    """
    at = (now or datetime.now(UTC)).astimezone(UTC)
    hour = at.replace(minute=0, second=0, microsecond=0)
    return (hour if hour == at else hour + timedelta(hours=1)) + FUTURE_SLACK


def timestamp_sql(value: datetime) -> str:
    """A Spark SQL literal for the UTC instant ``value``."""
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"CAST({sql_string(text + '+00:00')} AS TIMESTAMP)"


def _part(kind: str, name: str) -> str:
    return ident(f"_{kind}_{name}")


def _typed(name: str, dtype: DataType) -> str:
    return f"try_variant_get({_part('v', name)}, '$', '{dtype.simpleString()}')"


def _is_number(jt: str) -> str:
    return f"({jt} IN {_NUMBER_TYPES} OR startswith({jt}, 'DECIMAL('))"


def _type_ok(name: str, dtype: DataType) -> str:
    jt = _part("type", name)
    if isinstance(dtype, StringType):
        return f"{jt} = 'STRING'"
    if isinstance(dtype, LongType | DoubleType):
        # Any JSON number: whether it is integral and in range is checked by _number_checks,
        # with a reason of its own, instead of a cast truncating 1.5 to 1 or 2**64 to NULL.
        return _is_number(jt)
    raise TypeError(f"no JSON type check for {dtype}")  # pragma: no cover - schema is fixed


def _double(value: float) -> str:
    return f"CAST({sql_string(repr(value))} AS DOUBLE)"


def _number_checks(name: str, dtype: DataType, limit: float | None) -> list[Check]:
    """Reasons for a JSON number that the field's type cannot hold exactly.

    Spark's variant keeps a JSON number as an integer type, a DECIMAL (trailing zeros dropped,
    so ``1.0`` is ``DECIMAL(1,0)``) or, past 38 digits or with an exponent, a DOUBLE. A bigint
    field takes an integral value within 64 bits (``1e3`` is 1000); a double field a finite
    value within ``limit`` (a bound keeps every accepted integer exact as a double).
    """
    jt = _part("type", name)
    number = f"{_part('present', name)} AND {_is_number(jt)}"
    as_double = _typed(name, DoubleType())
    shown = f"coalesce({_typed(name, StringType())}, '?')"
    if isinstance(dtype, LongType):
        fractional = (
            f"((startswith({jt}, 'DECIMAL(') AND NOT endswith({jt}, ',0)'))"
            f" OR ({jt} IN ('FLOAT', 'DOUBLE')"
            # infinity is out of range, below
            f" AND abs({as_double}) < {_double(float('inf'))}"
            f" AND ({as_double} % 1) != 0))"
        )
        return [
            (
                f"{number} AND {fractional}",
                f"concat({sql_string(f'non-integral value for {name}: ')}, {shown})",
            ),
            (
                f"{number} AND {_part('typed', name)} IS NULL",
                f"concat({sql_string(f'value out of range for {name} (64-bit integer): ')},"
                f" {shown})",
            ),
        ]
    if isinstance(dtype, DoubleType):
        bound = _double(float("inf") if limit is None else limit)
        return [
            (
                f"{number} AND NOT (abs({_part('typed', name)}) <= {bound})",
                f"concat({sql_string(f'value out of range for {name}: ')}, {shown})",
            )
        ]
    return []


def _field_parts(
    fields: Mapping[str, DataType], names: Sequence[str], timestamp_fields: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Two projections: each field's variant value, then its presence, JSON type and typed
    value (timestamps parsed) computed from it."""
    values = [f"variant_get({_V}, {sql_string('$.' + n)}) AS {_part('v', n)}" for n in names]
    parts: list[str] = []
    for n in names:
        v = _part("v", n)
        # variant_get yields SQL NULL for a missing key; a JSON null is a variant null.
        parts.append(f"{v} IS NOT NULL AND NOT is_variant_null({v}) AS {_part('present', n)}")
        # schema_of_variant names the JSON value's type: STRING, BIGINT, DECIMAL(2,1), ...
        parts.append(f"schema_of_variant({v}) AS {_part('type', n)}")
    for n, dtype in fields.items():
        typed = (
            f"try_to_timestamp(try_variant_get({_part('v', n)}, '$', 'string'))"
            if n in timestamp_fields
            else _typed(n, dtype)
        )
        parts.append(f"{typed} AS {_part('typed', n)}")
    return values, parts


def first_reason_sql(checks: Sequence[Check]) -> str:
    """The reason of the first check whose condition holds, else NULL: one flat ``CASE``.

    Flat, not nested once per check: the optimiser walks a nested chain of ~60 levels again and
    again, which cost seconds of planning per query (every stream micro-batch plans it afresh).
    A NULL condition falls through to the next check.
    """
    if not checks:
        return "CAST(NULL AS STRING)"
    branches = " ".join(f"WHEN {cond} THEN {why}" for cond, why in checks)
    return f"CASE {branches} END"


def json_checks(
    fields: Mapping[str, DataType],
    required: Sequence[str],
    timestamp_fields: Sequence[str] = (),
    limits: Mapping[str, float] | None = None,
) -> list[Check]:
    """Every check of :func:`validate_json_records`, in the order their reasons win."""
    checks: list[Check] = [
        # Spark keeps a text file's bytes as they are; invalid UTF-8 must be caught here, before
        # it reaches Python (Arrow refuses it) or the database.
        (f"NOT is_valid_utf8({VALUE})", "'invalid UTF-8'"),
        (f"trim({VALUE}) = ''", "'empty record'"),
        (f"{_V} IS NULL", "'malformed JSON'"),
        (f"NOT startswith(schema_of_variant({_V}), 'OBJECT')", "'not a JSON object'"),
    ]
    for name in required:
        checks.append((f"NOT {_part('present', name)}", sql_string(f"missing field {name}")))
    for name, dtype in fields.items():
        expected = f"wrong type for {name}: expected {dtype.simpleString()}, got "
        checks.append(
            (
                f"{_part('present', name)} AND NOT ({_type_ok(name, dtype)})",
                f"concat({sql_string(expected)}, lower({_part('type', name)}))",
            )
        )
    for name, dtype in fields.items():
        checks.extend(_number_checks(name, dtype, (limits or {}).get(name)))
    earliest = f"CAST({sql_string(MIN_TIMESTAMP)} AS TIMESTAMP)"
    latest = timestamp_sql(latest_plausible())
    for name in timestamp_fields:
        present, ts = _part("present", name), _part("typed", name)
        checks.append((f"{present} AND {ts} IS NULL", sql_string(f"bad timestamp in {name}")))
        checks.append(
            (
                f"{present} AND ({ts} < {earliest} OR {ts} > {latest})",
                sql_string(f"timestamp out of range in {name}"),
            )
        )
    return checks


def validate_json_records(
    raw: DataFrame,
    fields: Mapping[str, DataType],
    required: Sequence[str],
    timestamp_fields: Sequence[str] = (),
    limits: Mapping[str, float] | None = None,
) -> DataFrame:
    """Parse ``raw.value`` as a JSON object and check it against ``fields``.

    Returns ``raw``'s columns plus one typed column per field (timestamps parsed) and
    ``reason``: NULL for a valid record, else the first problem found, in a fixed order.
    Unknown extra keys are allowed (forward compatibility with newer producers). A number a
    field cannot hold exactly (``1.5`` or ``2**64`` for a bigint, a double beyond its
    ``limits`` entry or infinite) is a reason too: a value is never changed silently.
    """
    names = list(dict.fromkeys([*required, *fields]))
    values, parts = _field_parts(fields, names, timestamp_fields)
    reason = first_reason_sql(json_checks(fields, required, timestamp_fields, limits))
    return (
        raw.selectExpr("*", f"try_parse_json({VALUE}) AS {_V}")
        .selectExpr("*", *values)
        .selectExpr("*", *parts)
        .selectExpr(
            *(ident(c) for c in raw.columns),
            *(f"{_part('typed', n)} AS {ident(n)}" for n in fields),
            f"{reason} AS {ident(Col.REASON)}",
        )
    )
