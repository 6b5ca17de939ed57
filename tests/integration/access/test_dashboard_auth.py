"""Dashboard sign-in, sessions, CSRF and language, through the real app and database."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar import Controller, Litestar, post
from litestar.di import Provide
from litestar.plugins.htmx import HTMXPlugin
from litestar.testing import AsyncTestClient

from service.actions.access import (
    ACCOUNT_MAX_FAILURES,
    add_staff_user,
    end_session,
    purge_ended_sessions,
    set_staff_active,
)
from service.db.access_models import LoginAttempt, StaffSession
from service.db.audit import audit
from service.db.models import AuditEntry
from service.ports import ManualClock
from service.runtime import Runtime
from service.web.auth import provide_runtime
from service.web.dashboard import dashboard_router
from service.web.dashboard.csrf import presession_token
from service.web.dashboard.render import template_config
from service.web.dashboard.session import Viewer, require_writer
from tests.conftest import SECRET
from tests.support.dashboard_support import (
    PASSWORD,
    SESSION_COOKIE,
    csrf_from,
    dashboard_login,
)

Client = AsyncTestClient[Litestar]
EMAIL = "ana@example.org"


def _set_cookie(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, headers
    return str(found[0])


async def _post_login(client: Client, password: str = PASSWORD, **extra: str) -> object:
    form = await client.get("/dashboard/login")
    data = {"email": EMAIL, "password": password, "csrf_token": csrf_from(form.text), **extra}
    return await client.post("/dashboard/login", data=data, follow_redirects=False)


async def test_root_and_pages_send_a_stranger_to_the_sign_in_form(client: Client) -> None:
    root = await client.get("/", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (303, "/dashboard")
    page = await client.get("/dashboard?x=1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/dashboard/login?next=/dashboard%3Fx%3D1"
    form = await client.get(page.headers["location"])
    assert form.status_code == 200
    assert '<html lang="es">' in form.text and "Iniciar sesión" in form.text
    assert 'name="email"' in form.text and 'name="password"' in form.text
    assert '<label for="email">' in form.text and 'value="/dashboard?x=1"' in form.text


async def test_sign_in_sets_a_strict_cookie_and_is_audited(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    response = await _post_login(client)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/dashboard"  # type: ignore[attr-defined]
    cookie = _set_cookie(response, SESSION_COOKIE).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here; https below
    token = client.cookies[SESSION_COOKIE]
    row = await StaffSession.get()
    assert token not in row.token_hash and len(row.token_hash) == 64  # only a keyed hash
    assert row.expires_at - row.created_at == timedelta(hours=12)
    assert await AuditEntry.filter(action="dashboard.session.start", entity_id=EMAIL).count() == 1
    assert await LoginAttempt.filter(outcome="succeeded").count() == 1
    page = await client.get("/dashboard")
    assert page.status_code == 200 and EMAIL in page.text and "Clínica" in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_cookie_is_secure_behind_https(client: Client) -> None:
    rt = client.app.state.runtime
    await add_staff_user(rt, EMAIL, "coordinator", ["CUA"], PASSWORD)
    # The request itself came over https (directly, or via a trusted proxy)...
    form = await client.get("https://testserver.local/dashboard/login")
    assert "secure" in _set_cookie(form, "fu_csrf").lower()
    # ... or the public URL says the service lives behind https.
    https = dataclasses.replace(rt.settings, public_base_url="https://followup.example.org")
    object.__setattr__(rt, "settings", https)  # the next test gets a fresh runtime
    form = await client.get("/dashboard/login")
    assert "secure" in _set_cookie(form, "fu_csrf").lower()
    form = await client.get("https://testserver.local/dashboard/login")
    data = {"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_from(form.text)}
    response = await client.post(
        "https://testserver.local/dashboard/login", data=data, follow_redirects=False
    )
    assert response.status_code == 303
    assert "secure" in _set_cookie(response, SESSION_COOKIE).lower()


async def test_wrong_password_shows_the_form_again_in_spanish(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    response = await _post_login(client, "wrong-password")
    assert response.status_code == 401  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "El correo o la contraseña no son correctos." in text
    assert f'value="{EMAIL}"' in text and 'aria-describedby="form-error"' in text
    assert SESSION_COOKIE not in client.cookies
    assert await StaffSession.all().count() == 0
    empty = await _post_login(client, "")
    assert empty.status_code == 400  # type: ignore[attr-defined]
    assert 'id="password-error"' in empty.text  # type: ignore[attr-defined]


async def test_throttled_sign_in_is_429_with_a_spanish_message(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    for _ in range(ACCOUNT_MAX_FAILURES):
        assert (await _post_login(client, "wrong-password")).status_code == 401  # type: ignore[attr-defined]
    response = await _post_login(client)  # the right password, too late
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert int(response.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "Demasiados intentos fallidos" in response.text  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in client.cookies
    assert await AuditEntry.filter(action="auth.login_throttled").count() == 1


async def test_login_without_or_with_a_forged_csrf_token_is_403_and_changes_nothing(
    client: Client,
) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    await client.get("/dashboard/login")
    audits = await AuditEntry.all().count()
    data = {"email": EMAIL, "password": PASSWORD}
    for token in (None, "0" * 64, presession_token(SECRET, "another-cookie")):
        body = data if token is None else {**data, "csrf_token": token}
        response = await client.post("/dashboard/login", data=body, follow_redirects=False)
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
        assert "No se cambió nada" in response.text
    client.cookies.delete("fu_csrf")  # a token without its cookie is worth nothing either
    form_token = presession_token(SECRET, "x")
    response = await client.post("/dashboard/login", data={**data, "csrf_token": form_token})
    assert response.status_code == 403
    assert await AuditEntry.all().count() == audits
    assert await LoginAttempt.all().count() == 0 and await StaffSession.all().count() == 0


async def test_signed_in_posts_need_the_sessions_token(client: Client) -> None:
    login = await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    audits = await AuditEntry.all().count()
    nonce = client.cookies["fu_csrf"]
    for body in ({}, {"csrf_token": "f" * 64}, {"csrf_token": presession_token(SECRET, nonce)}):
        response = await client.post("/dashboard/logout", data=body, follow_redirects=False)
        assert response.status_code == 403
    header = await client.post(
        "/dashboard/logout", headers={"X-CSRF-Token": "nope"}, follow_redirects=False
    )
    assert header.status_code == 403
    assert await AuditEntry.all().count() == audits
    assert (await client.get("/dashboard")).status_code == 200  # still signed in
    ok = await client.post(
        "/dashboard/logout", headers={"X-CSRF-Token": login.csrf_token}, follow_redirects=False
    )
    assert ok.status_code == 303  # the htmx header is accepted like the form field


async def test_logout_makes_the_old_cookie_useless(client: Client) -> None:
    login = await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    response = await client.post(
        "/dashboard/logout", data={"csrf_token": login.csrf_token}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/dashboard/login")
    assert await AuditEntry.filter(action="dashboard.session.end").count() == 1
    assert (await StaffSession.get()).revoked_at is not None
    client.cookies.set(SESSION_COOKIE, login.cookies[SESSION_COOKIE])  # replay it
    page = await client.get("/dashboard", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/dashboard/login")
    again = await client.post(
        "/dashboard/logout", data={"csrf_token": login.csrf_token}, follow_redirects=False
    )
    assert again.status_code == 303
    assert await AuditEntry.filter(action="dashboard.session.end").count() == 1


async def test_idle_sessions_end_and_activity_keeps_them(
    client: Client, clock: ManualClock
) -> None:
    await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    row = await StaffSession.get()
    clock.advance(seconds=20)
    assert (await client.get("/dashboard")).status_code == 200
    assert (await StaffSession.get()).last_seen_at == row.last_seen_at  # no write per GET
    for _ in range(3):
        clock.advance(minutes=25)
        assert (await client.get("/dashboard")).status_code == 200
    assert (await StaffSession.get()).last_seen_at == clock.now()
    clock.advance(minutes=31)
    page = await client.get("/dashboard/?lang=en", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/dashboard/login?next=/dashboard%3Flang%3Den"


async def test_sessions_end_after_twelve_hours_however_busy(
    client: Client, clock: ManualClock
) -> None:
    await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    for _ in range(12 * 2 - 1):
        clock.advance(minutes=29)
        assert (await client.get("/dashboard")).status_code == 200
    clock.advance(hours=12 - (12 * 2 - 1) * 29 / 60)
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303


async def test_disabling_the_account_ends_its_dashboard_sessions(client: Client) -> None:
    await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    rt = client.app.state.runtime
    await set_staff_active(rt, EMAIL, active=False, actor="system:test")
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303
    entry = await AuditEntry.get(action="staff.disable")
    assert entry.changes["sessions_ended"] == 1
    await set_staff_active(rt, EMAIL, active=True, actor="system:test")
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "http:/dashboard",
        "javascript:alert(1)",
        "dashboard",
    ],
)
async def test_next_only_accepts_local_paths(client: Client, target: str) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    response = await _post_login(client, next=target)
    assert response.headers["location"] == "/dashboard"  # type: ignore[attr-defined]


async def test_next_keeps_a_local_path(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    response = await _post_login(client, next="/dashboard/alerts?site=CUA")
    assert response.headers["location"] == "/dashboard/alerts?site=CUA"  # type: ignore[attr-defined]


async def test_language_switch_is_remembered_in_the_session(client: Client) -> None:
    form = await client.get("/dashboard/login?lang=en")
    assert '<html lang="en">' in form.text and "Sign in" in form.text
    await dashboard_login(client, EMAIL, "coordinator", ["CUA"])  # carries the choice over
    page = await client.get("/dashboard")
    assert '<html lang="en">' in page.text and "Study overview" in page.text
    assert (await StaffSession.get()).locale == "en"
    await client.get("/dashboard?lang=es")
    page = await client.get("/dashboard")
    assert '<html lang="es">' in page.text and "Resumen del estudio" in page.text
    assert 'href="?lang=en"' in page.text
    ignored = await client.get("/dashboard?lang=xx")
    assert '<html lang="es">' in ignored.text


async def test_dashboard_routes_stay_out_of_the_openapi_schema(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert paths and not [p for p in paths if p == "/" or p.startswith("/dashboard")]


class WriteProbe(Controller):
    """A writing form's handler, as the page helpers write them."""

    path = "/dashboard/probe"

    @post("/", status_code=200)
    async def write(self, rt: Runtime, viewer: Viewer) -> str:
        require_writer(viewer)
        await audit(
            at=rt.clock.now(), actor=viewer.actor.label, action="probe", entity="x", entity_id=1
        )
        return "written"


@pytest.fixture
async def probe(client: Client) -> AsyncIterator[Client]:
    app = Litestar(
        route_handlers=[dashboard_router(WriteProbe)],
        dependencies={"rt": Provide(provide_runtime)},
        template_config=template_config(),
        plugins=[HTMXPlugin()],
    )
    app.state.runtime = client.app.state.runtime
    async with AsyncTestClient(app=app) as probe_client:
        yield probe_client


async def test_a_monitor_posting_gets_403_and_a_coordinator_writes(probe: Client) -> None:
    monitor = await dashboard_login(probe, "mon@example.org", "monitor", [])
    refused = await probe.post("/dashboard/probe", data={"csrf_token": monitor.csrf_token})
    assert refused.status_code == 403 and "No se cambió nada" in refused.text
    assert await AuditEntry.filter(action="probe").count() == 0
    probe.cookies.clear()
    writer = await dashboard_login(probe, EMAIL, "coordinator", ["CUA"])
    done = await probe.post("/dashboard/probe", data={"csrf_token": writer.csrf_token})
    assert (done.status_code, done.text) == (200, "written")
    assert await AuditEntry.filter(action="probe").count() == 1


async def test_a_post_into_an_ended_session_is_403(probe: Client, clock: ManualClock) -> None:
    login = await dashboard_login(probe, EMAIL, "coordinator", ["CUA"])
    clock.advance(minutes=31)
    refused = await probe.post("/dashboard/probe", data={"csrf_token": login.csrf_token})
    assert refused.status_code == 403
    assert await AuditEntry.filter(action="probe").count() == 0


async def test_a_crafted_login_form_is_refused_before_any_check(client: Client) -> None:
    await add_staff_user(client.app.state.runtime, EMAIL, "coordinator", ["CUA"], PASSWORD)
    audits = await AuditEntry.all().count()
    response = await _post_login(client, role="admin")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "text/html" in response.headers["content-type"]  # type: ignore[attr-defined]
    assert await LoginAttempt.all().count() == 0 and await AuditEntry.all().count() == audits


async def test_htmx_requests_without_a_session_are_sent_to_sign_in(client: Client) -> None:
    response = await client.get(
        "/dashboard",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "http://testserver.local/dashboard/alerts",
        },
        follow_redirects=False,
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/dashboard/login?next=/dashboard/alerts"


async def test_a_language_change_is_audited(client: Client) -> None:
    await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    await client.get("/dashboard?lang=en")
    await client.get("/dashboard?lang=en")  # already English: nothing to write
    entry = await AuditEntry.get(action="dashboard.session.locale")
    assert entry.actor == f"staff:{EMAIL}" and entry.changes == {"locale": "en"}


async def test_signing_in_again_ends_the_previous_session(client: Client) -> None:
    first = await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    await dashboard_login(client, "eva@example.org")  # the next person, same browser
    assert await StaffSession.filter(revoked_at=None).count() == 1
    assert await AuditEntry.filter(action="dashboard.session.end").count() == 1
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE])
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303


async def test_pages_cannot_be_framed_or_cached(client: Client) -> None:
    await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    page = await client.get("/dashboard")
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline


async def test_error_pages_carry_the_same_security_headers(client: Client) -> None:
    login = await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    answers = {
        "404 another site's or no participant": await client.get("/dashboard/participants/NOPE"),
        "404 no such page": await client.get("/dashboard/no-such-page"),
        "400 unreadable query": await client.get("/dashboard/participants?limit=lots"),
        "403 no CSRF token": await client.post("/dashboard/logout", data={}),
        "405 wrong method": await client.delete("/dashboard"),
    }
    for what, answer in answers.items():
        code = int(what.split()[0])
        assert answer.status_code == code, (what, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), what
        assert answer.headers["x-frame-options"] == "DENY", what
        assert "default-src 'self'" in answer.headers["content-security-policy"], what
        assert answer.headers["x-content-type-options"] == "nosniff", what
        assert answer.headers["referrer-policy"] == "same-origin", what
    assert login.csrf_token  # the session was live: the refusals were not for lack of one
    api = await client.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["status_code"] == 404  # the API keeps JSON


async def test_ended_sessions_are_purged_after_a_day(client: Client, clock: ManualClock) -> None:
    login = await dashboard_login(client, EMAIL, "coordinator", ["CUA"])
    await dashboard_login(client, "eva@example.org", "coordinator", ["CUA"])  # stays open
    rt = client.app.state.runtime
    await end_session(rt, login.cookies[SESSION_COOKIE])
    assert await purge_ended_sessions(rt) == 0
    clock.advance(hours=25)
    assert await purge_ended_sessions(rt) == 2  # one revoked, one idle for a day
    assert await StaffSession.all().count() == 0


async def test_pages_load_the_stylesheet_and_htmx_from_the_service(client: Client) -> None:
    form = await client.get("/dashboard/login")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', form.text)
    assert assets and all("?v=" in url for url in assets)  # the icon too: every asset versioned
    assert any("htmx" in url for url in assets) and any("dashboard.css" in url for url in assets)
    for url in assets:
        assert (await client.get(url)).status_code == 200
