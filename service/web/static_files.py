"""The service's own browser files, served at ``/static/``.

Nothing a page needs comes from the internet: a site's network may block CDNs, and a
trial's documentation page that renders blank offline is no documentation. The files
live in ``service/web/static/`` (vendored packages under ``vendor/``, see its README)
and ship inside the wheel (pyproject package-data).

Every URL a page uses is built by ``static_url``, which appends the file's content hash
(``?v=``): the responses can then be cached for a year, and a refreshed package or an
edited stylesheet is fetched at once because its URL changes with its bytes.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/static"
ONE_YEAR = 365 * 24 * 3600
SWAGGER = "vendor/swagger-ui-dist"


@functools.cache
def static_url(relative: str) -> str:
    """``/static/<relative>?v=<hash>``; a missing file fails here, at start-up or
    render time, rather than as a 404 in somebody's browser."""
    digest = hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{relative}?v={digest}"


def static_files_router() -> Router:
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        name="static",
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=ONE_YEAR, public=True, immutable=True),
    )


FAVICON = "favicon.svg"


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Redirect:
    """Browsers ask for /favicon.ico whatever the page says: send them to the icon."""
    return Redirect(static_url(FAVICON), status_code=301)


def swagger_render_plugin() -> SwaggerRenderPlugin:
    """Swagger UI for ``/schema`` from the vendored swagger-ui-dist, favicon included
    (Litestar's defaults point at a CDN for all four)."""
    favicon = static_url(f"{SWAGGER}/favicon-32x32.png")
    return SwaggerRenderPlugin(
        js_url=static_url(f"{SWAGGER}/swagger-ui-bundle.js"),
        css_url=static_url(f"{SWAGGER}/swagger-ui.css"),
        standalone_preset_js_url=static_url(f"{SWAGGER}/swagger-ui-standalone-preset.js"),
        favicon=f"<link rel='icon' type='image/png' href='{favicon}'>",
    )
