"""On a network: JSON only as JSON (no cross-site writes), only the server's own `Host` names
without a token (no DNS rebinding), pages bounded in bytes that say where the next one starts."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from pipeline_service.conformance.context import API, ENTRYPOINT, CheckContext
from pipeline_service.conformance.http import Exchange
from pipeline_service.conformance.registry import CheckFailed, NotApplicable, Tier, check
from pipeline_service.wire import MAX_LOG_PAGE_ITEMS, MAX_PAGE_BYTES, MAX_PAGE_ITEMS

FOREIGN_HOST = "conformance-kit.invalid"
LINE = 100_000  # the largest log message
LINES = MAX_PAGE_BYTES // LINE + 6  # a few records more than one page holds
BIG = 500_000  # bytes of one run's params
RUNS = MAX_PAGE_BYTES // BIG + 3


def _send(
    ctx: CheckContext, method: str, path: str, content: str, headers: dict[str, str]
) -> httpx.Response:
    """A request with exactly these headers (and the token): no Content-Type unless given."""
    session = ctx.session
    sent = {**session.auth_headers(), **headers}
    request = session.http.build_request(method, path, content=content, headers=sent)
    exchange = Exchange(method, str(request.url), sent, content, None, token=session.token)
    try:
        response = session.http.send(request)
    except httpx.HTTPError:
        session.record(exchange)
        raise
    session.record(Exchange(method, str(request.url), sent, content, response.status_code))
    return response


def _created(ctx: CheckContext, response: httpx.Response) -> None:
    """Remember a pipeline a request should not have created, for cleanup."""
    if response.status_code == 201:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            ctx.pipelines.append(response.json()["id"])


@check("network.content-type", area="network", tier=Tier.EXTENSION)
def content_type(ctx: CheckContext) -> None:
    """A JSON body sent without `Content-Type: application/json` is 415, and nothing changes.

    A web page of another site can send a POST without a CORS preflight only as `text/plain`,
    a form, or a body with no type at all: a server that reads those as JSON takes writes from
    any page its user opens. POST /pipelines/ and PATCH /runs/{id} are sent each way.
    """
    run = ctx.new_run("content-type")
    name = f"{ctx.namespace}content-type-planted"
    body = f'{{"name": "{name}", "actions": [{{"name": "a", "entrypoint": "{ENTRYPOINT}"}}]}}'
    sent_as: list[dict[str, str]] = [
        {},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
    ]
    for headers in sent_as:
        shown = headers.get("Content-Type", "no Content-Type")
        response = _send(ctx, "POST", f"{API}/pipelines/", body, headers)
        _created(ctx, response)
        ctx.expect_status(response, 415, f"a pipeline sent with {shown}")
        patched = _send(ctx, "PATCH", ctx.run_path(run["id"]), '{"status": "running"}', headers)
        ctx.expect_status(patched, 415, f"a run update sent with {shown}")
    listed = ctx.expect_status(
        ctx.session.get(f"{API}/pipelines/", params={"limit": 100}), 200, "listing pipelines"
    )
    ctx.expect(
        name not in [p.get("name") for p in listed], "a refused body created a pipeline anyway"
    )
    after = ctx.get_run(run["id"])
    ctx.expect(after == run, f"a refused update changed the run: status {after.get('status')!r}")


@check("network.host", area="network", tier=Tier.EXTENSION)
def host(ctx: CheckContext) -> None:
    """Without a token, a request naming another host in `Host` is refused (421 or 400).

    Through DNS rebinding a web page reaches a server on the user's machine under a name of the
    page's own site: only the server's `Host` checking stands between it and the API. Needs a
    target without a token (with `--token` the check does not apply).
    """
    if ctx.options.token:
        raise NotApplicable("--token given: a server with a token may answer any name")
    headers = {"Host": FOREIGN_HOST}
    read = ctx.session.get(f"{API}/pipelines/", headers=headers)
    ctx.expect_status(read, (400, 421), f"a read with Host: {FOREIGN_HOST}")
    name = f"{ctx.namespace}host-planted"
    write = ctx.session.post(
        f"{API}/pipelines/",
        {"name": name, "actions": [{"name": "a", "entrypoint": ENTRYPOINT}]},
        headers=headers,
    )
    _created(ctx, write)
    ctx.expect_status(write, (400, 421), f"a write with Host: {FOREIGN_HOST}")


def _follow(ctx: CheckContext, first: httpx.Response, what: str) -> list[Any]:
    """The items of a page and of every page its `Link: rel="next"` leads to."""
    items: list[Any] = []
    response = first
    for _ in range(1000):
        page = ctx.expect_status(response, 200, what)
        size = len(response.content)
        biggest = max((len(str(item)) for item in page), default=0)
        if size > MAX_PAGE_BYTES + 2 * biggest + 4096:
            raise ctx.fail(f"{what}: a page of {size} bytes, over the {MAX_PAGE_BYTES}-byte cap")
        items.extend(page)
        following = response.links.get("next")
        if following is None:
            return items
        url = urlsplit(following["url"])
        if not page:
            raise ctx.fail(f"{what}: an empty page says there is a next one")
        response = ctx.session.get(url.path, params=dict(parse_qsl(url.query)))
    raise ctx.fail(f"{what}: more than 1000 pages")


@check("network.log-pages", area="network", tier=Tier.EXTENSION)
def log_pages(ctx: CheckContext) -> None:
    """A log page ends at the byte cap and links the next (`Link: rel="next"`); every record
    is read once by following the links.

    Records of 100,000 characters, a few more than `max-page-bytes` (4 MiB) holds, read with
    the largest `limit`: the first page ends early, and the pages its links lead to hold the rest.
    """
    run = ctx.new_run("log-pages")
    path = ctx.run_path(run["id"], "/logs/")
    per_batch = max(1, min(LINES, ctx.options.max_body_bytes // (LINE + 100) - 1))
    for start in range(0, LINES, per_batch):
        count = min(per_batch, LINES - start)
        entries = [{"message": f"{start + i:06d}" + "x" * (LINE - 6)} for i in range(count)]
        response = ctx.session.post(path, {"entries": entries})
        ctx.session.history.pop()  # not kept: too large to show
        if response.status_code != 201:
            raise CheckFailed(f"storing a batch of large records got {response.status_code}")
    first = ctx.session.get(path, params={"limit": MAX_LOG_PAGE_ITEMS})
    ctx.expect(
        first.status_code == 200 and len(first.json()) < LINES,
        f"one page of {LINES} records of {LINE} bytes was not cut at the byte cap",
    )
    ctx.expect("next" in first.links, "a page cut short does not say where the next starts")
    records = _follow(ctx, first, "paging through the logs")
    seqs = [record.get("seq") for record in records]
    messages = [str(record.get("message"))[:6] for record in records]
    ctx.expect(
        seqs == list(range(1, LINES + 1)) and messages == [f"{i:06d}" for i in range(LINES)],
        f"following the links read records {seqs[:3]}…{seqs[-3:]} ({len(seqs)}), not 1…{LINES}",
    )


@check("network.list-pages", area="network", tier=Tier.EXTENSION)
def list_pages(ctx: CheckContext) -> None:
    """A list page ends at the byte cap and links the next; every item is read once.

    Runs whose params hold 500,000 bytes each, a few more than `max-page-bytes` holds, listed
    with the largest `limit` (a server whose field limit is below that is not judged).
    """
    pipeline = ctx.create_pipeline("list-pages")
    runs_path = f"{API}/pipelines/{quote(pipeline['id'], safe='')}/runs/"
    created = []
    for i in range(RUNS):
        response = ctx.session.post(runs_path, {"params": {"i": i, "blob": "p" * BIG}})
        ctx.session.history.pop()  # not kept: too large to show
        if response.status_code in (413, 422):
            raise NotApplicable(f"runs with params of {BIG} bytes are refused here (a lower limit)")
        created.append(ctx.expect_status(response, 201, "creating a run")["id"])
    first = ctx.session.get(runs_path, params={"limit": MAX_PAGE_ITEMS})
    ctx.expect(
        first.status_code == 200 and len(first.json()) < RUNS,
        f"one page of {RUNS} runs of {BIG} bytes was not cut at the byte cap",
    )
    ctx.expect("next" in first.links, "a page cut short does not say where the next starts")
    listed = [run.get("id") for run in _follow(ctx, first, "paging through the runs")]
    ctx.expect(listed == created[::-1], "following the links did not list every run once")
