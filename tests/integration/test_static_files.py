"""/static serves the vendored files with long cache headers; /schema loads its
Swagger UI from there, not from a CDN."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.web.static_files import STATIC_DIR, static_url


async def test_htmx_is_served_with_a_year_of_cache(client: AsyncTestClient[Litestar]) -> None:
    url = static_url("vendor/htmx.org/htmx.min.js")
    assert re.fullmatch(r"/static/vendor/htmx\.org/htmx\.min\.js\?v=[0-9a-f]{12}", url)
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == (STATIC_DIR / "vendor/htmx.org/htmx.min.js").read_bytes()
    assert "javascript" in response.headers["content-type"]
    cache = response.headers["cache-control"]
    assert "max-age=31536000" in cache and "immutable" in cache


async def test_static_refuses_paths_outside_its_folder(client: AsyncTestClient[Litestar]) -> None:
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/vendor/nothing.js"):
        response = await client.get(path)
        assert response.status_code == 404, path


async def test_schema_page_loads_its_assets_from_static(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema")
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html and "unpkg" not in html
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert sources, html[:500]
    for source in sources:
        assert source.startswith("/static/vendor/swagger-ui-dist/"), source
        assert (await client.get(source)).status_code == 200, source


async def test_static_files_are_not_in_the_openapi_document(
    client: AsyncTestClient[Litestar],
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in document["paths"] if path.startswith("/static")]
