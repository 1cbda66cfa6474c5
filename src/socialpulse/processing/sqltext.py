"""Spark SQL text: literals and identifiers quoted for expressions built as strings.

Expressions built in Python as SQL text are parsed by the JVM in one call per column; the
Column API makes a Py4J round trip per function, operator and literal, which for wide
expressions (validation, the stream's aggregate union) was most of a micro-batch's driver time.
"""

from __future__ import annotations


def sql_string(text: str) -> str:
    """``text`` as a Spark SQL string literal (backslashes and quotes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ident(name: str) -> str:
    """``name`` as a quoted Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"
