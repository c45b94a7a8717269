"""Server-side prepared statements for the write transactions' batched text.

A write transaction's statements go as one text per round trip (simple query protocol,
store._send), so the database would parse and plan each statement again every time. Instead a
statement is prepared once per connection (`PREPARE name AS …`, sent in the same round trip as
its first `EXECUTE name(…)`) and then only executed: the arguments are bound on the client, as
before, into the EXECUTE. A statement's name is a stable hash of its text, so every connection
and every replica spells it alike.

What a connection has prepared is known per connection object: a new connection (the pool's
reconnect after a restart or fail-over) starts with nothing. When the database has forgotten
them anyway (`DEALLOCATE ALL`, `DISCARD ALL`) or refuses to prepare a statement (a parameter
whose type it cannot infer), the transaction fails before its COMMIT and `Unprepared` says how
to run it again: the connection forgets its statements, or the statement is sent unprepared
from then on.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

# Statements PREPARE takes (utility statements such as BEGIN or SET cannot be prepared).
_PREPARABLE = re.compile(r"^\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|VALUES)\b", re.I)
_PARAM = re.compile(r"%\((\w+)\)s|%%|%")
_PREFIX = "ps_"


class Unprepared(Exception):
    """A transaction failed on a prepared statement before its COMMIT (nothing was written):
    run it again (the state that failed it is corrected already)."""


class _Statement:
    """One statement's prepared form: its name, PREPARE text and EXECUTE template."""

    __slots__ = ("execute", "name", "names", "prepare")

    def __init__(self, sql: str, body: str, names: list[str]) -> None:
        self.name = _PREFIX + hashlib.sha256(sql.encode()).hexdigest()[:20]
        self.prepare = f"PREPARE {self.name} AS {body}"
        self.names = names
        args = ", ".join(f"%({name})s" for name in names)
        self.execute = f"EXECUTE {self.name}({args})" if names else f"EXECUTE {self.name}"


_statements: dict[str, _Statement | None] = {}  # by pyformat text; None: sent unprepared
_by_name: dict[str, str] = {}  # statement name -> pyformat text
_prepared: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], set[str]] = (
    weakref.WeakKeyDictionary()
)


def _statement(sql: str) -> _Statement | None:
    """sql's prepared form (sql in pyformat: `%(name)s`, `%%`); None when it is not
    preparable."""
    try:
        return _statements[sql]
    except KeyError:
        pass
    statement = None
    if _PREPARABLE.match(sql):
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] is None:
                if match[0] == "%":
                    raise ValueError(sql)
                return "%"
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        try:
            body = _PARAM.sub(number, sql)
        except ValueError:
            body = None
        if body is not None:
            statement = _Statement(sql, body, names)
            _by_name[statement.name] = sql
    _statements[sql] = statement
    return statement


def statements(
    conn: psycopg.AsyncConnection[Any],
    cursor: psycopg.AsyncClientCursor[Any],
    sql: str,
    params: Mapping[str, Any],
    held: list[str],
) -> None:
    """Append to held (the statements of a round trip) what runs sql with params on conn:
    `EXECUTE name(…)`, preceded by its PREPARE unless conn has it or held prepares it already;
    sql bound on the client when it cannot be prepared."""
    statement = _statement(sql)
    if statement is None:
        held.append(cursor.mogrify(sql, params))
        return
    if statement.name not in _prepared.get(conn, ()) and statement.prepare not in held:
        held.append(statement.prepare)
    held.append(cursor.mogrify(statement.execute, params) if statement.names else statement.execute)


def ran(conn: psycopg.AsyncConnection[Any], texts: Sequence[str]) -> None:
    """texts ran on conn: the statements they prepared are conn's now."""
    prepared = _prepared.setdefault(conn, set())
    for text in texts:
        if text.startswith(_PREPARE):
            prepared.add(_name(text))


def failed(conn: psycopg.AsyncConnection[Any], text: str, error: psycopg.Error) -> None:
    """text failed with error on conn (the statements before it ran, none after it): raise
    Unprepared when that was this module's doing, after correcting what caused it."""
    if not text.startswith((_PREPARE, _EXECUTE)):
        return
    name = _name(text)
    prepared = _prepared.setdefault(conn, set())
    if isinstance(error, pg_errors.InvalidSqlStatementName):  # forgotten (DEALLOCATE, DISCARD)
        prepared.clear()
    elif isinstance(error, pg_errors.DuplicatePreparedStatement):
        prepared.add(name)
    elif text.startswith(_PREPARE) and (error.sqlstate or "").startswith("42"):
        _statements[_by_name[name]] = None  # e.g. a parameter whose type it cannot infer
    else:
        return
    raise Unprepared(f"{name}: {_oneline(error)}") from error


def _name(text: str) -> str:
    """The statement name in a PREPARE or EXECUTE text of this module."""
    return text.split(None, 2)[1].split("(", 1)[0]


def _oneline(exc: BaseException) -> str:
    return " ".join(str(exc).split())


_PREPARE = "PREPARE " + _PREFIX
_EXECUTE = "EXECUTE " + _PREFIX


def forms(sql: str) -> tuple[str, ...]:
    """The texts `statements` may send for sql without parameters."""
    statement = _statement(sql)
    return () if statement is None else (statement.prepare, statement.execute)
