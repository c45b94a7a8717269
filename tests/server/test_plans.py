"""Plans and dialects: the portable SQL of a plan as each database reads it, and a plan run
without any database (it only yields statements and reads the rows it is sent)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline_service.server.errors import RUN_NOT_FOUND, Conflict, NotFound
from pipeline_service.server.storage import fencing, pipelines
from pipeline_service.server.storage.plans import Plan, Query, Rows
from pipeline_service.server.storage.postgres.store import POSTGRES
from pipeline_service.server.storage.sqlite.store import SQLITE


@pytest.mark.parametrize(
    ("portable", "sqlite", "postgres"),
    [
        (
            "SELECT doc FROM runs WHERE id=:id {lock}",
            "SELECT doc FROM runs WHERE id=:id ",  # one writer: no row locks
            "SELECT doc FROM runs WHERE id=%(id)s FOR UPDATE",
        ),
        (
            "SELECT id FROM runs WHERE lease_expires < {now} ORDER BY pk LIMIT 1 {skip_locked}",
            "SELECT id FROM runs WHERE lease_expires < :now ORDER BY pk LIMIT 1 ",
            "SELECT id FROM runs WHERE lease_expires < now() ORDER BY pk LIMIT 1 "
            "FOR UPDATE SKIP LOCKED",
        ),
        (
            "UPDATE runs SET lease_expires={now} + {seconds:lease_seconds} WHERE id=:id",
            "UPDATE runs SET lease_expires=:now + :lease_seconds WHERE id=:id",
            "UPDATE runs SET lease_expires=now() + make_interval(secs => %(lease_seconds)s) "
            "WHERE id=%(id)s",
        ),
        (
            "DELETE FROM t WHERE (seq - 1) % :stride <> 0 AND at < {long_ago}",
            "DELETE FROM t WHERE (seq - 1) % :stride <> 0 AND at < 0",
            "DELETE FROM t WHERE (seq - 1) %% %(stride)s <> 0 AND at < '-infinity'",
        ),
        (
            "{serialize:key}",
            "",
            "SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0))",
        ),
        (
            "SELECT pk, {doc_bytes} AS page_bytes FROM logs",
            "SELECT pk, length(doc) AS page_bytes FROM logs",  # ASCII documents
            "SELECT pk, octet_length(doc) AS page_bytes FROM logs",  # without reading them
        ),
    ],
)
def test_each_dialect_spells_the_portable_sql(portable: str, sqlite: str, postgres: str) -> None:
    assert SQLITE.render(portable) == sqlite
    assert POSTGRES.render(portable) == postgres
    assert POSTGRES.render(portable) is POSTGRES.render(portable)  # rendered once


def drive(plan: Plan[Any], answers: list[Rows]) -> tuple[list[Query], Any]:
    """Run plan by hand: each statement it yields is answered with the next rows."""
    asked: list[Query] = []
    try:
        asked.append(next(plan))
        for rows in answers:
            asked.append(plan.send(rows))
    except StopIteration as done:
        return asked, done.value
    raise AssertionError("the plan asked for more statements than were answered")


def test_a_plan_reads_rows_by_name_and_raises_the_contract_errors() -> None:
    asked, _ = drive(fencing.fence("r1", 3), [[{"lease_token": 3}]])
    assert [q.params for q in asked] == [{"id": "r1"}]
    with pytest.raises(Conflict, match=r"Lease-Token 2 is not the run's current lease \(3\)"):
        drive(fencing.fence("r1", 2), [[{"lease_token": 3}]])
    with pytest.raises(NotFound) as missing:
        drive(fencing.fence("r1", None), [[]])
    assert missing.value.detail == RUN_NOT_FOUND
    # An id no server made never reaches the database as text it cannot hold.
    asked, _ = drive(fencing.fence("r\x00ü", None), [[{"lease_token": 0}]])
    assert asked[0].params == {"id": ""}


def test_a_page_plan_is_cut_where_the_database_says() -> None:
    """`page_rows` (the uncut page's size) tells a cut page from the last one."""
    doc = '{"id": "p", "name": "n", "description": null, "actions": []}'
    (query,), page = drive(pipelines.list_pipelines(0, 10), [[{"doc": doc, "page_rows": 3}] * 2])
    assert "SUM(page_bytes) OVER" in query.sql
    assert len(page) == 2
    assert page.more
    _, whole = drive(pipelines.list_pipelines(0, 10), [[{"doc": doc, "page_rows": 2}] * 2])
    assert not whole.more
    _, empty = drive(pipelines.list_pipelines(0, 10), [[]])
    assert empty == []
    assert not empty.more
