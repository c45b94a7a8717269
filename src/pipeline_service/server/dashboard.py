"""The dashboard: static HTML, CSS and JavaScript served at `/` and `/ui/…` (no build step).

Every page path answers with the same index.html (the script routes on the location); the
assets are the files of `ui/assets`, nothing else. The pages use only this server's public
API, and their Content-Security-Policy lets them load nothing from anywhere else.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from pipeline_service.server.errors import error_response

UI_DIR = Path(__file__).parent / "ui"

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on each load (the ETag makes that a 304): an upgrade is seen at once.
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


def dashboard_routes() -> list[BaseRoute]:
    """The routes of the dashboard (outside /api/v1, so outside openapi.yaml)."""
    assets = {
        path.name: path
        for path in (UI_DIR / "assets").iterdir()
        if path.is_file() and path.suffix in MEDIA_TYPES
    }
    index = UI_DIR / "index.html"

    async def page(request: Request) -> Response:
        return FileResponse(index, media_type=MEDIA_TYPES[".html"], headers=HEADERS)

    async def asset(request: Request) -> Response:
        path = assets.get(request.path_params["name"])
        if path is None:
            return error_response(404, "Not Found")
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)

    return [
        Route("/", page, methods=["GET"], include_in_schema=False),
        Route("/ui", page, methods=["GET"], include_in_schema=False),
        Route("/ui/assets/{name:path}", asset, methods=["GET"], include_in_schema=False),
        Route("/ui/{page:path}", page, methods=["GET"], include_in_schema=False),
    ]
