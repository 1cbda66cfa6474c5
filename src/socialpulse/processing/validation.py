"""Validation of raw JSON-lines records: typed rows for the good, a reason for the bad.

Parsing uses Spark's VARIANT type (``try_parse_json``) so that each failure gets a precise
reason - malformed JSON, a missing field, a wrong type, a bad timestamp - without a Python
round trip per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DoubleType, LongType, StringType

from socialpulse.domain.columns import Col

_V = "_v"
VALUE = "value"
"""Column holding one raw line, as produced by ``spark.read.text``."""

MIN_TIMESTAMP = "2006-03-21 00:00:00"
"""The earliest timestamp a record may carry: the first post ever on Twitter."""
_MIN_TS = MIN_TIMESTAMP


def _path(name: str) -> str:
    return f"$.{name}"


# Each field's parts are computed once per row in a projection of their own, and the checks
# read them as columns. Written inline, the ~60 checks re-ran variant_get and
# schema_of_variant per field in every branch of the CASE (Spark does not share common
# subexpressions across CASE branches, which are evaluated conditionally), and a valid record -
# the common case - runs every branch: 64,006 posts took ~7 s to validate, parsing alone ~1 s.
def _part(kind: str, name: str) -> str:
    return f"_{kind}_{name}"


def _value(name: str) -> Column:
    """The field's JSON value as a variant (SQL NULL when the key is missing)."""
    return F.col(_part("v", name))


def _json_type(name: str) -> Column:
    # schema_of_variant names the JSON value's type: STRING, BIGINT, DOUBLE, OBJECT<...>, ...
    return F.col(_part("type", name))


def _present(name: str) -> Column:
    # variant_get yields SQL NULL for a missing key; a JSON null is a variant null.
    return F.col(_part("present", name))


def _typed(name: str, dtype: DataType) -> Column:
    return F.expr(f"try_variant_get({_part('v', name)}, '$', '{dtype.simpleString()}')")


def _typed_part(name: str) -> Column:
    """The field in its declared type (timestamps parsed), computed once per row."""
    return F.col(_part("typed", name))


def _is_number(jt: Column) -> Column:
    return jt.isin("TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE") | jt.startswith(
        "DECIMAL("
    )


def _type_ok(name: str, dtype: DataType) -> Column:
    jt = _json_type(name)
    if isinstance(dtype, StringType):
        return jt == F.lit("STRING")
    if isinstance(dtype, LongType | DoubleType):
        # Any JSON number: whether it is integral and in range is checked by _number_checks,
        # with a reason of its own, instead of a cast truncating 1.5 to 1 or 2**64 to NULL.
        return _is_number(jt)
    raise TypeError(f"no JSON type check for {dtype}")  # pragma: no cover - schema is fixed


def _number_checks(name: str, dtype: DataType, limit: float | None) -> list[tuple[Column, Column]]:
    """Reasons for a JSON number that the field's type cannot hold exactly.

    Spark's variant keeps a JSON number as an integer type, a DECIMAL (trailing zeros dropped,
    so ``1.0`` is ``DECIMAL(1,0)``) or, past 38 digits or with an exponent, a DOUBLE. A bigint
    field takes an integral value within 64 bits (``1e3`` is 1000); a double field a finite
    value within ``limit`` (a bound keeps every accepted integer exact as a double).
    """
    jt = _json_type(name)
    number = _present(name) & _is_number(jt)
    as_double = _typed(name, DoubleType())
    shown = F.coalesce(_typed(name, StringType()), F.lit("?"))
    if isinstance(dtype, LongType):
        fractional = (jt.startswith("DECIMAL(") & ~jt.endswith(",0)")) | (
            jt.isin("FLOAT", "DOUBLE")
            & (F.abs(as_double) < F.lit(float("inf")))  # infinity is out of range, below
            & ((as_double % 1) != 0)
        )
        return [
            (number & fractional, F.concat(F.lit(f"non-integral value for {name}: "), shown)),
            (
                number & _typed_part(name).isNull(),
                F.concat(F.lit(f"value out of range for {name} (64-bit integer): "), shown),
            ),
        ]
    if isinstance(dtype, DoubleType):
        bound = F.lit(float("inf") if limit is None else limit)
        return [
            (
                number & ~(F.abs(_typed_part(name)) <= bound),
                F.concat(F.lit(f"value out of range for {name}: "), shown),
            )
        ]
    return []


def _field_parts(
    fields: Mapping[str, DataType], names: Sequence[str], timestamp_fields: Sequence[str]
) -> tuple[list[Column], list[Column]]:
    """Two projections: each field's variant value, then its presence, JSON type and typed
    value (timestamps parsed) computed from it."""
    values = [F.expr(f"variant_get({_V}, '{_path(n)}')").alias(_part("v", n)) for n in names]
    parts: list[Column] = []
    for n in names:
        v = _part("v", n)
        parts.append(
            F.expr(f"{v} IS NOT NULL AND NOT is_variant_null({v})").alias(_part("present", n))
        )
        parts.append(F.expr(f"schema_of_variant({v})").alias(_part("type", n)))
    for n, dtype in fields.items():
        typed = (
            F.expr(f"try_to_timestamp(try_variant_get({_part('v', n)}, '$', 'string'))")
            if n in timestamp_fields
            else _typed(n, dtype)
        )
        parts.append(typed.alias(_part("typed", n)))
    return values, parts


def first_reason(checks: Sequence[tuple[Column, Column]]) -> Column:
    """The reason of the first check whose condition holds, else NULL: one flat ``CASE WHEN``.

    Flat, not ``when(c, r).otherwise(...)`` nested once per check: the optimiser walks a
    nested chain of ~60 levels again and again, which cost seconds of planning per query
    (every stream micro-batch plans it afresh); a flat ``CASE`` has the same first-match
    semantics (a NULL condition falls through to the next, as ``otherwise`` did).
    """
    if not checks:
        return F.lit(None).cast("string")
    (cond, why), *rest = checks
    reason = F.when(cond, why)
    for cond, why in rest:
        reason = reason.when(cond, why)
    return reason


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
    df = raw.withColumn(_V, F.expr(f"try_parse_json({VALUE})")).select("*", *values)
    df = df.select("*", *parts)
    checks: list[tuple[Column, Column]] = [
        # Spark keeps a text file's bytes as they are; invalid UTF-8 must be caught here, before
        # it reaches Python (Arrow refuses it) or the database.
        (~F.expr(f"is_valid_utf8({VALUE})"), F.lit("invalid UTF-8")),
        (F.trim(F.col(VALUE)) == "", F.lit("empty record")),
        (F.col(_V).isNull(), F.lit("malformed JSON")),
        (~F.expr(f"schema_of_variant({_V})").startswith("OBJECT"), F.lit("not a JSON object")),
    ]
    for name in required:
        checks.append((~_present(name), F.lit(f"missing field {name}")))
    for name, dtype in fields.items():
        checks.append(
            (
                _present(name) & ~_type_ok(name, dtype),
                F.concat(
                    F.lit(f"wrong type for {name}: expected {dtype.simpleString()}, got "),
                    F.lower(_json_type(name)),
                ),
            )
        )
    for name, dtype in fields.items():
        checks.extend(_number_checks(name, dtype, (limits or {}).get(name)))
    for name in timestamp_fields:
        ts = _typed_part(name)
        checks.append((_present(name) & ts.isNull(), F.lit(f"bad timestamp in {name}")))
        checks.append(
            (
                _present(name)
                & (
                    (ts < F.lit(_MIN_TS).cast("timestamp"))
                    | (ts > F.expr("current_timestamp() + INTERVAL 1 DAY"))
                ),
                F.lit(f"timestamp out of range in {name}"),
            )
        )

    reason = first_reason(checks)
    typed = [_typed_part(name).alias(name) for name in fields]
    return df.select(*raw.columns, *typed, reason.alias(Col.REASON))
