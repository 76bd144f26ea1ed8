"""Bulk INSERT at the driver's speed, with the columns' own type conversions.

``gkwatch check`` rewrites 100,000 status rows at a time. SQLAlchemy's Core ``executemany`` builds and
processes a parameter dict per row in Python, which costs more than the database's own work; here the
statement is compiled once, each column's bind processor (UTC datetimes, JSON, dates) is applied in one
tight loop (remembering results for repeated values), and the rows go to the driver's ``executemany`` inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

BATCH = 5000
MEMO_SIZE = 10_000  # distinct values remembered per column


def _memoized(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` remembering its results: a status table repeats the same dates, as-of stamps and
    finding lists in most of its rows, and formatting each again (SQLite's date strings, JSON) is most of
    the insert's Python time. Lists are looked up as tuples; unhashable values are simply processed."""
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        key = tuple(value) if isinstance(value, list) else value
        try:
            return cache[key]
        except KeyError:
            out = process(value)
            if len(cache) < MEMO_SIZE:
                cache[key] = out
            return out
        except TypeError:
            return process(value)

    return run


def insert_rows(connection: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """INSERT ``rows`` into ``table``; returns the count.

    Every row names every column (no defaults are filled in: a missing key is a ``KeyError``, never a
    silently different row).
    """
    dialect = connection.dialect
    columns = [c.name for c in table.columns]
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
    convert = [(c, p and _memoized(p)) for c, p in zip(columns, processors, strict=True)]
    order = list(compiled.positiontup or []) if compiled.positional else None
    if order is not None and order != list(columns):
        raise ValueError(f"unexpected bind order {order} for columns {list(columns)}")

    def converted(row: Mapping[str, Any]) -> tuple | dict:
        values = [row[c] if p is None or row[c] is None else p(row[c]) for c, p in convert]
        return tuple(values) if order is not None else dict(zip(columns, values, strict=True))

    count = 0
    it = iter(rows)
    while batch := [converted(r) for r in islice(it, BATCH)]:
        connection.exec_driver_sql(compiled.string, batch)
        count += len(batch)
    return count
