"""What makes ``/app`` installable and usable offline: its manifest and service worker.

The worker (``static/app-sw.js``) is served from ``/app/sw.js`` so that its scope can
be the app (``Service-Worker-Allowed: /app``), with the stylesheet's hashed URL filled
in, and never cached by the browser's HTTP cache (a new worker must be seen at once).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from litestar import Controller, Request, Response, get

from service.web.app.session import locale_of
from service.web.dashboard.render import say_in
from service.web.static_files import STATIC_DIR, static_url

WORKER: Final = "app-sw.js"


@cache
def _worker_source() -> str:
    text = (STATIC_DIR / WORKER).read_text(encoding="utf-8")
    return text.replace("__STYLE_URL__", static_url("app.css"))


class AppInstallController(Controller):
    path = "/app"
    include_in_schema = False

    @get("/manifest.webmanifest", media_type="application/manifest+json")
    async def manifest(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        locale = locale_of(request, None)
        return {
            "name": f"MSC-ROLE · {say_in(locale)('My study')}",
            "short_name": "MSC-ROLE",
            "lang": locale,
            "start_url": "/app",
            "scope": "/app",
            "display": "standalone",
            "background_color": "#f3f5f7",
            "theme_color": "#0b5cad",
            "icons": [{"src": static_url("app-icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
        }

    @get("/sw.js", media_type="text/javascript")
    async def worker(self) -> Response[str]:
        return Response(
            _worker_source(),
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": "/app", "Cache-Control": "no-cache"},
        )
