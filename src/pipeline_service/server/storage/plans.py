"""Plans: each storage operation written once, as a generator of SQL that any backend runs.

A plan is a generator that yields `Query` objects and is sent back each query's rows; what it
returns is the operation's answer. So the algorithm — what to read, what to check, what to
write, which error to raise — exists once, and a backend only runs the statements it is given
(SQLite on its writer thread, PostgreSQL on a pooled async connection) inside a transaction:

    def get_name(tx: Tx, pipeline_id: str) -> Plan[str]:
        rows = yield Query("SELECT doc FROM pipelines WHERE id=:id", {"id": pipeline_id})
        ...
        return name

Plans compose with `yield from`. The SQL is written in the subset both databases share, with
`:name` parameters (no `:` inside string literals) and a few tokens a `Dialect` spells per
backend (locks, the clock, intervals, advisory locks). Rows are read by column name, never by
position. A statement that fails ends the plan: the backend rolls the transaction back and the
error goes to the caller (a plan never sees database errors). Read plans get a `Tx` too; they
change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pipeline_service.server.errors import NotFound
from pipeline_service.server.storage.changes import Change
from pipeline_service.server.timestamps import now_text

T = TypeVar("T")


class Row(Protocol):
    """A row of a result, read by column name (sqlite3.Row, psycopg's dict rows)."""

    def __getitem__(self, name: str, /) -> Any: ...


Rows = Sequence[Row]

# The largest integer a plan passes as a parameter (skip, after_seq: larger ones mean "all").
MAX_INT_PARAM = 2**62


@dataclass(frozen=True, slots=True)
class Query:
    """One statement of a plan: portable SQL with `:name` parameters (see Dialect).

    With `many`, the statement runs once per parameter set (and answers no rows)."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    many: Sequence[Mapping[str, Any]] | None = None


Plan = Generator[Query, Rows, T]


class Tx:
    """What a plan sees of its transaction: its time, and the changes it commits.

    A backend reports `changes` to its change listener once the transaction committed."""

    __slots__ = ("changes", "now")

    def __init__(self) -> None:
        self.now = now_text()
        self.changes: list[Change] = []


PlanFactory = Callable[[Tx], Plan[T]]


def run(plan: Plan[T], dialect: Dialect, execute: Callable[[str, Query], Rows]) -> T:
    """Run plan to its answer: each statement rendered in dialect and given to execute (which
    answers its rows); a statement the dialect spells as nothing answers no rows."""
    try:
        query = next(plan)
        while True:
            sql = dialect.render(query.sql)
            query = plan.send(execute(sql, query) if sql else [])
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        plan.close()


def first(rows: Rows) -> Row | None:
    """The first row, or None."""
    return rows[0] if rows else None


def row_by_id(table: str, columns: str, key: str, lock: str, missing: str) -> Plan[Row]:
    """The columns of the row of table whose id is key, locked as lock says (`{lock}`,
    `{share}` or nothing); NotFound(missing) without it."""
    rows = yield Query(f"SELECT {columns} FROM {table} WHERE id=:id {lock}", {"id": key})
    row = first(rows)
    if row is None:
        raise NotFound(missing)
    return row


# Tokens of the portable SQL, spelled by each Dialect.
_SECONDS = re.compile(r"\{seconds:(\w+)\}")
_SERIALIZE = re.compile(r"^\{serialize:(\w+)\}$")
_PARAM = re.compile(r"(?<![:\w]):(\w+)")


@dataclass(frozen=True)
class Dialect:
    """How one database spells the tokens of the portable SQL:

    - `{now}`: the transaction's clock as the lease and idempotency columns hold it;
    - `{seconds:name}`: parameter `name` (a number of seconds) as an interval added to `{now}`;
    - `{long_ago}`: a time before any `{now}`;
    - `{lock}` / `{share}` after a SELECT: lock its rows for update / against updates;
    - `{skip_locked}` after a SELECT: lock its rows, skipping rows others have locked;
    - a whole statement `{serialize:name}`: transactions that run it with the same value of
      parameter `name` run one after the other (an empty statement where writes are serial);
    - `{doc_bytes}`: the size in bytes of the row's `doc` (a document is ASCII JSON: its length,
      unless the database can tell the size without reading the document);
    - `{next_change}`: the value of `runs.change_seq` for a row a statement inserts or gives a
      new version (the next number of the runs' change sequence: `run_changes.py`), or a
      placeholder a trigger replaces.
    """

    now: str
    seconds: str  # with {name}
    long_ago: str
    # Where writes are serial (one writer at a time) no statement needs a lock: "".
    lock: str = ""
    share: str = ""
    skip_locked: str = ""
    serialize: str = ""  # with {name}; "" runs nothing
    pyformat: bool = False  # parameters as %(name)s (psycopg) instead of :name (sqlite3)
    doc_bytes: str = "length(doc)"
    next_change: str = "0"
    _rendered: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    def render(self, sql: str) -> str:
        """sql in this dialect (cached: plans yield a few constant statements)."""
        text = self._rendered.get(sql)
        if text is None:
            text = self._rendered[sql] = self._render(sql)
        return text

    def _render(self, sql: str) -> str:
        serialize = _SERIALIZE.match(sql.strip())
        if serialize is not None:
            text = self.serialize.format(name=serialize[1]) if self.serialize else ""
        else:
            text = _SECONDS.sub(lambda m: self.seconds.format(name=m[1]), sql)
            for token, spelling in (
                ("{now}", self.now),
                ("{long_ago}", self.long_ago),
                ("{lock}", self.lock),
                ("{share}", self.share),
                ("{skip_locked}", self.skip_locked),
                ("{doc_bytes}", self.doc_bytes),
                ("{next_change}", self.next_change),
            ):
                text = text.replace(token, spelling)
        if self.pyformat:
            text = _PARAM.sub(r"%(\1)s", text.replace("%", "%%"))
        return text
