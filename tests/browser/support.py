"""What the browser tests share: the live server, its seeding, the Chromium launch and
the accessibility check.

The server is a real ``python -m service serve`` process (uvicorn, the app's lifespan
and scheduler) on its own database, started once for the session. Its SMS go through
the official twilio SDK to the fake Twilio server in the test process, not the
console: that is how a test reads a participant's one-time code and then files
check-ins through the participant API, as the app does (no test-only route). The
browser is Debian's chromium driven by Playwright (never a downloaded browser). The
database is shared by every browser test of the session, so each test seeds its own
people under names from ``unique`` and asserts about those alone.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page

from service.settings import REPO_ROOT
from tests.conftest import SECRET, TEST_PASSWORD_HASH_COST
from tests.support.fakes.twilio_server import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TwilioFakeServer,
    inbound_sms,
)

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
LOCALE = "es-CL"
TIMEZONE = "America/Santiago"
PASSWORD = "browser-password-long-enough"
AXE_JS = REPO_ROOT / "service/web/static/vendor/axe-core/axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


async def save_screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save the docs' picture ``name`` when SCREENSHOTS=1 (committed, so an ordinary
    run leaves the working tree clean)."""
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


FAILING_IMPACTS = ("serious", "critical")
ADMIN = "browser-admin@example.org"
# The sites' on-call phones, set once for the session (alerts are texted to them).
ON_CALL = {
    "CUA": {"primary": "+56961239901", "backup": "+56961239902"},
    "HBLT": {"primary": "+56961239903"},
}

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test of the session uses (the database is shared)."""
    return f"{prefix}{os.getpid() % 1000:03d}{next(_counter):03d}"


def unique_phone() -> str:
    """A Chilean mobile number no other test of the session uses."""
    return f"+569{61000000 + (os.getpid() % 1000) * 1000 + next(_counter):08d}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A running ``followup serve`` and the ways a test seeds it: the CLI for staff
    accounts (as an operator would), the JSON API with a token for everything else."""

    base_url: str
    env: dict[str, str]
    log: Path
    twilio: TwilioFakeServer
    redcap: Any = None  # the REDCap double the server pushes to (RedcapFakeServer)
    _tokens: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(  # noqa: S603  # our own command line, no shell
            [sys.executable, "-m", "service", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def add_staff(self, email: str, role: str, sites: list[str], password: str = PASSWORD) -> str:
        site_args = [arg for site in sites for arg in ("--site", site)]
        self.cli("user", "add", email, "--role", role, *site_args, stdin=password + "\n")
        return email

    def token(self, email: str, password: str = PASSWORD) -> str:
        if email not in self._tokens:
            response = httpx.post(
                f"{self.base_url}/api/v1/auth/token",
                json={"email": email, "password": password},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            self._tokens[email] = response.json()["access_token"]
        return self._tokens[email]

    def api(self, method: str, path: str, email: str, **kwargs: Any) -> httpx.Response:
        """One JSON API call as ``email`` (whose account ``add_staff`` made)."""
        headers = {"Authorization": f"Bearer {self.token(email)}"}
        return httpx.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs
        )

    def enrol(self, email: str, study_id: str, site: str, phone: str, **extra: Any) -> None:
        body = {
            "study_id": study_id,
            "site": site,
            "phone": phone,
            "can_become_pregnant": False,
            "baseline_infusion_date": time.strftime("%Y-%m-%d"),
            "sms_consent": True,
            **extra,
        }
        response = self.api("POST", "/api/v1/participants", email, json=body)
        assert response.status_code == 201, response.text

    def participant_token(self, phone: str) -> str:
        """Sign in as the participant, as the app does: request a code by SMS, read it
        from the fake Twilio server, verify it."""
        since = len(self.twilio.messages)
        asked = httpx.post(
            f"{self.base_url}/api/v1/mobile/auth/request-code", json={"phone": phone}, timeout=30
        )
        assert asked.status_code in (200, 202), asked.text
        deadline = time.monotonic() + 30
        code = None
        while code is None and time.monotonic() < deadline:
            for message in self.twilio.messages[since:]:
                found = re.search(r"\b(\d{6})\b", message.body)
                if message.to == phone and found:
                    code = found.group(1)
            time.sleep(0.05)
        assert code, "no one-time code reached the fake Twilio server"
        verified = httpx.post(
            f"{self.base_url}/api/v1/mobile/auth/verify",
            json={"phone": phone, "code": code},
            timeout=30,
        )
        assert verified.status_code == 200, verified.text
        return str(verified.json()["access_token"])

    def report_symptoms(self, phone: str, symptoms: list[dict[str, Any]]) -> dict[str, Any]:
        """The participant reports symptoms at any time (a severe one raises an alert)."""
        token = self.participant_token(phone)
        response = httpx.post(
            f"{self.base_url}/api/v1/mobile/me/checkins/symptoms",
            headers={"Authorization": f"Bearer {token}"},
            json={"symptoms": symptoms},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def text_from(self, phone: str, body: str) -> None:
        """An SMS from ``phone`` reaches the service, signed as Twilio signs it."""
        url = f"{self.base_url}/webhooks/twilio/sms"
        headers, form = inbound_sms(url, from_=phone, body=body)
        response = httpx.post(url, headers=headers, data=form, timeout=30)
        assert response.status_code == 200, response.text

    def prepare(self) -> None:
        """What every browser test may count on: an admin and the on-call phones."""
        self.add_staff(ADMIN, "admin", [])
        for code, numbers in ON_CALL.items():
            response = self.api("PUT", f"/api/v1/sites/{code}/on-call", ADMIN, json=numbers)
            assert response.status_code == 200, response.text

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def redcap_setup() -> dict[str, str]:
    """The REDCap project set-up files the service writes, for the REDCap double."""
    from service.settings import load_settings
    from tests.support.edc_push_fixtures import setup_files

    env = {"DATABASE_URL": "sqlite://:memory:", "SECRET_KEY": SECRET}
    return setup_files(load_settings(env))


def server_env(database_url: str, port: int, twilio_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "LOG_", "REDCAP_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=TEST_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
        TWILIO_FROM_NUMBER=TEST_FROM_NUMBER,
        TWILIO_API_BASE_URL=twilio_url,
        SMS_RATE_PER_SECOND="0",
        STUDY_FILE=str(REPO_ROOT / "schedules" / "msc-role.toml"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        PASSWORD_HASH_COST=TEST_PASSWORD_HASH_COST,
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603  # our own command line, no shell
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_live(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("serve exited:\n" + log.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{base_url}/health/live", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not answer /health/live in 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def browser_database(tmp: Path) -> str:
    """A temporary SQLite file, or ``<the suite's PostgreSQL database>_browser``,
    recreated empty (the server migrates it)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite://{tmp / 'browser.sqlite3'}"
    browser_url = url + "_browser"
    from tests.conftest import _recreate_postgres

    asyncio.run(_recreate_postgres(browser_url))
    return browser_url


def drop_browser_database(url: str) -> None:
    if not url.startswith("postgres"):
        return

    async def drop() -> None:
        import asyncpg  # type: ignore[import-untyped]  # no stubs

        base, _, name = url.replace("postgres://", "postgresql://", 1).rpartition("/")
        conn = await asyncpg.connect(base + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the dashboard's form, as a person does."""
    await page.goto("/dashboard/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/dashboard/?$"))


async def check_axe(page: Page, *, context: str | None = None) -> None:
    """Run axe-core (the vendored npm package) on the page as it is now and fail on
    any serious or critical violation, listed rule by rule with the offending nodes.

    The script is evaluated through the DevTools protocol, not added as a tag: no
    page ever loads axe, and a Content-Security-Policy does not block the check.
    """
    await page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;void 0")
    results = await page.evaluate(
        "async (selector) => await axe.run(selector || document, {resultTypes: ['violations']})",
        context,
    )
    failing = [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]
    if failing:
        lines = [f"axe: {len(failing)} serious/critical violation(s) on {page.url}"]
        for violation in failing:
            lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
            for node in violation["nodes"][:5]:
                target = " ".join(str(part) for part in node.get("target", []))
                summary = (node.get("failureSummary") or "").replace("\n", " ")
                lines.append(f"    {target}: {summary}")
            if len(violation["nodes"]) > 5:
                lines.append(f"    … and {len(violation['nodes']) - 5} more")
        raise AssertionError("\n".join(lines))


def is_local(url: str, base_url: str) -> bool:
    """Requests the page may make: the server under test and the browser's own
    schemes (data:, blob:, about:)."""
    return url.startswith((base_url + "/", "data:", "blob:", "about:")) or url == base_url
