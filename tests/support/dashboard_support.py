"""Signing in to the dashboard from a test, the way a browser does.

``dashboard_login`` creates the staff account, GETs the sign-in form (which sets the
pre-session CSRF cookie), posts email, password and the form's token, and returns the
cookies and the session's CSRF token for the forms that follow. The test client keeps
the cookies too, so later requests on the same client are signed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.actions.access import add_staff_user

Client = AsyncTestClient[Litestar]
PASSWORD = "correct-horse-battery"
SESSION_COOKIE = "fu_dash"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class DashboardLogin:
    cookies: dict[str, str]
    csrf_token: str  # put it in every form posted as this user: data={"csrf_token": ...}


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _TOKEN.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


async def dashboard_login(
    client: Client,
    email: str,
    role: str = "coordinator",
    sites: list[str] | None = None,
    *,
    create: bool = True,
    password: str = PASSWORD,
) -> DashboardLogin:
    if create:
        rt = client.app.state.runtime
        default = ["CUA"] if role == "coordinator" else []
        await add_staff_user(rt, email, role, sites if sites is not None else default, password)
    form = await client.get("/dashboard/login")
    assert form.status_code == 200, form.text
    response = await client.post(
        "/dashboard/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = await client.get("/dashboard")
    assert page.status_code == 200, page.text
    return DashboardLogin(cookies=dict(client.cookies), csrf_token=csrf_from(page.text))
