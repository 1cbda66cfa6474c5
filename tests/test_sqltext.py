"""SQL text built in Python reads back exactly what was quoted (the validation and the
stream's aggregate union are built this way)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from socialpulse.processing.sqltext import ident, sql_string

TRICKY = ["plain", "it's", "back\\slash", "\\'", "new\nline", "tab\there", "ünï €", "", "$.a"]


def test_literals_and_identifiers_round_trip(spark: SparkSession) -> None:
    row = spark.sql(
        "SELECT " + ", ".join(f"{sql_string(t)} AS c{i}" for i, t in enumerate(TRICKY))
    ).first()
    assert row is not None
    assert list(row) == TRICKY
    odd = "we`ird name"
    df = spark.createDataFrame([(1,)], [odd]).selectExpr(f"{ident(odd)} + 1 AS {ident('x y')}")
    assert df.columns == ["x y"]
    assert df.first() == (2,)
