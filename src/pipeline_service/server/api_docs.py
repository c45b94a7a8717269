"""The interactive API docs, `/docs` (swagger-ui) and `/redoc` (Redoc), served by the package.

Their scripts are files of `ui/docs` at pinned versions (VENDORED.json; `scripts/vendor-docs-
assets` fetches them), never a CDN's: these pages share an origin with the dashboard, which keeps
the token, so they run under the dashboard's Content-Security-Policy (nothing from anywhere else,
no framing) and work offline.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from pipeline_service.server.dashboard import HEADERS, MEDIA_TYPES
from pipeline_service.server.errors import error_response

DOCS_DIR = Path(__file__).parent / "ui" / "docs"
_TEXT = "text/plain; charset=utf-8"


def _page(*, head: str, body: str) -> str:
    """One of the two pages: the frame they share (`ui/docs/page.html`) around what differs."""
    frame = (DOCS_DIR / "page.html").read_text(encoding="utf-8")
    return frame.replace("{head}", head).replace("{body}", body)


def api_docs_routes() -> list[BaseRoute]:
    """`/docs`, `/redoc` and their files under `/ui/docs/`."""
    files = {
        path.name: path
        for path in DOCS_DIR.iterdir()
        if path.is_file() and path.suffix in (".js", ".css", ".LICENSE", ".NOTICE", ".txt")
    }

    swagger = _page(
        head=(
            '<link rel="stylesheet" href="/ui/docs/swagger-ui.css">\n'
            '  <script src="/ui/docs/swagger-ui-bundle.js" defer></script>\n'
            '  <script src="/ui/docs/swagger-init.js" defer></script>'
        ),
        body='<div id="swagger-ui"></div>',
    )
    redoc = _page(
        head=(
            "<!-- Redoc's styles are <style> elements it writes: allowed by this response's "
            "nonce only. -->\n"
            '  <meta property="csp-nonce" nonce="{nonce}">\n'
            '  <script type="module" src="/ui/docs/redoc.standalone.js"></script>'
        ),
        body='<redoc spec-url="/openapi.json"></redoc>',
    )

    async def swagger_page(request: Request) -> Response:
        return HTMLResponse(swagger, headers=HEADERS)

    async def redoc_page(request: Request) -> Response:
        # Redoc writes its styles as <style> elements: this response's nonce allows them.
        nonce = secrets.token_urlsafe(18)
        policy = HEADERS["Content-Security-Policy"].replace(
            "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
        )
        return HTMLResponse(
            redoc.replace("{nonce}", nonce),
            headers={**HEADERS, "Content-Security-Policy": policy},
        )

    async def asset(request: Request) -> Response:
        path = files.get(request.path_params["name"])
        if path is None:
            return error_response(404, "Not Found")
        media_type = MEDIA_TYPES.get(path.suffix, _TEXT)
        return FileResponse(path, media_type=media_type, headers=HEADERS)

    return [
        Route("/docs", swagger_page, methods=["GET"], include_in_schema=False),
        Route("/redoc", redoc_page, methods=["GET"], include_in_schema=False),
        Route("/ui/docs/{name}", asset, methods=["GET"], include_in_schema=False),
    ]
