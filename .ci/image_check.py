"""Run the built image the way production does and fail loudly when it does not work.

Called by `.ci/image` after the build. Inside the image, with buildah on the host's
network (`podman run` is not available everywhere CI runs): `followup migrate` against
a fresh PostgreSQL database, a staff account, then the image's own CMD (`serve`). From
the host: wait for /health/ready, enrol a participant through the API, read its
calendar. Then the image's own HEALTHCHECK command inside it, the serving process's
user, the image's contents (no tests, benchmarks, compilers, pip or caches) and the
logs (JSON lines, no phone number). Prints the image's size and layers. Removes the
container and the database whatever happens.

Standard library and asyncpg only (run with the CI virtualenv's Python).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import asyncpg

PHONE = "+56961234567"  # fictitious; must never appear in a log line
PHONE_DIGITS = "61234567"
ADMIN_EMAIL = "image-ci-admin@example.org"
READY_TIMEOUT_S = 180.0  # a loaded 2-core machine starts a cold image slowly

# Run inside the image as its own user: what the final stage must not contain.
CONTENTS_PROBE = (Path(__file__).parent / "image_contents.py").read_text(encoding="utf-8")


class CheckFailed(Exception):
    """One of the image's promises does not hold."""


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


class Buildah:
    """buildah with this run's private storage."""

    def __init__(self, root: str, runroot: str) -> None:
        self.storage = ["--root", root, "--runroot", runroot, "--storage-driver", "vfs"]

    def argv(self, *args: str) -> list[str]:
        return ["buildah", *self.storage, *args]

    def out(self, *args: str) -> str:
        done = subprocess.run(self.argv(*args), capture_output=True, text=True, check=False)  # noqa: S603  # our own command line, no shell
        if done.returncode != 0:
            fail(f"buildah {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def run_argv(self, container: str, env: dict[str, str], command: list[str]) -> list[str]:
        flags = [f"--env={k}={v}" for k, v in env.items()]
        return self.argv(
            "run", "--isolation", "chroot", "--network", "host", *flags, container, "--", *command
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310  # http:// URLs this script builds
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # http:// URLs this script builds
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if server.poll() is not None:
            fail(f"serve exited with status {server.returncode} before it was ready")
        try:
            status, _ = http("GET", f"{base}/health/ready")
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(1)
    fail(f"/health/ready did not answer 200 within {READY_TIMEOUT_S:.0f} s")


def descendants(pid: int) -> list[int]:
    """Processes under pid, read from /proc (the server runs a few levels down)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def serving_uids(server_pid: int) -> dict[int, int]:
    """uid of every process under the server whose command line is `followup serve`."""
    uids = {}
    for pid in descendants(server_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if any(part.endswith(b"followup") for part in cmdline) and b"serve" in cmdline:
            uids[pid] = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    return uids


# What `buildah run` itself writes when the process it ran ends on a signal (uvicorn
# re-raises SIGTERM after a clean shutdown, so `docker stop` sees 143 too).
BUILDAH_OWN = re.compile(r"^(subprocess exited (on \w+|with status \d+)|Error: exit status \d+)$")


def check_logs(text: str) -> int:
    lines = [line for line in text.splitlines() if line.strip()]
    while lines and BUILDAH_OWN.match(lines[-1]):
        lines.pop()
    if not lines:
        fail("serve wrote no log lines")
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            fail(f"a log line is not JSON: {line[:200]!r}")
        if not isinstance(record, dict) or not {"time", "level", "message"} <= record.keys():
            fail(f"a log line lacks time/level/message: {line[:200]!r}")
    if any(PHONE_DIGITS in re.sub(r"[\s\-().]", "", line) for line in lines):
        fail("the participant's phone number appears in the logs")
    if not any("Application shutdown complete" in line for line in lines):
        fail("serve did not shut down cleanly on SIGTERM")
    if not any("/api/v1/participants" in line for line in lines):
        fail("the enrolment request is missing from the logs (were they captured?)")
    return len(lines)


def image_figures(buildah: Buildah, image: str, base: str) -> str:
    def layers_and_size(name: str) -> tuple[int, int]:
        info = json.loads(buildah.out("inspect", "--type", "image", name))
        podman = subprocess.run(  # noqa: S603  # our own command line, no shell
            ["podman", *buildah.storage, "image", "inspect", name],  # noqa: S607  # from PATH
            capture_output=True,
            text=True,
            check=False,
        )
        if podman.returncode != 0:
            fail(f"podman image inspect {name} failed: {podman.stderr.strip()}")
        return len(info["OCIv1"]["rootfs"]["diff_ids"]), int(json.loads(podman.stdout)[0]["Size"])

    layers, size = layers_and_size(image)
    base_layers, base_size = layers_and_size(base)
    return (
        f"image {image}: {size / 1e6:.0f} MB in {layers} layers; "
        f"above the base: {(size - base_size) / 1e6:.0f} MB in {layers - base_layers} layers "
        f"(base {base_size / 1e6:.0f} MB)"
    )


async def create_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(server, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def check(args: argparse.Namespace, buildah: Buildah, container: str, log_path: Path) -> None:
    config = json.loads(buildah.out("inspect", "--type", "image", args.image))["Docker"]["config"]
    port = free_port()
    env = {
        "DATABASE_URL": f"{args.postgres.rsplit('/', 1)[0]}/{args.database}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"

    def inside(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  # our own command line, no shell
            buildah.run_argv(container, env, command),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    done = inside(["followup", "migrate"])
    if done.returncode != 0:
        fail(f"followup migrate failed: {done.stderr.strip()[-800:]}")
    print("   migrate: ok")
    password = secrets.token_urlsafe(16)
    done = inside(
        ["followup", "user", "add", ADMIN_EMAIL, "--role", "admin"], stdin=password + "\n"
    )
    if done.returncode != 0:
        fail(f"followup user add failed: {done.stderr.strip()[-800:]}")

    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603  # our own command line, no shell
            buildah.run_argv(container, env, config["Cmd"]), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        took = wait_ready(base, server)
        print(f"   serve (the image's CMD): ready after {took:.1f} s on port {port}")

        status, token = http(
            "POST", f"{base}/api/v1/auth/token", {"email": ADMIN_EMAIL, "password": password}
        )
        if status != 201 and status != 200:
            fail(f"staff sign-in answered {status}: {token}")
        bearer = token["access_token"]
        enrolment = {
            "study_id": "IMG-001",
            "site": "CUA",
            "phone": PHONE,
            "can_become_pregnant": False,
            "baseline_infusion_date": "2027-01-20",
            "sms_consent": True,
        }
        status, body = http("POST", f"{base}/api/v1/participants", enrolment, bearer)
        if status != 201:
            fail(f"enrolment answered {status}: {body}")
        status, calendar = http("GET", f"{base}/api/v1/participants/IMG-001/calendar", token=bearer)
        if status != 200 or not calendar.get("visits"):
            fail(f"calendar answered {status}: {calendar}")
        print(f"   enrolled IMG-001 through the API; calendar: {len(calendar['visits'])} visits")

        test = config.get("Healthcheck", {}).get("Test")
        if not test:
            fail("the image has no HEALTHCHECK")
        command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
        done = inside(command)
        if done.returncode != 0:
            fail(
                f"the image's HEALTHCHECK failed ({done.returncode}): {done.stderr.strip()[-400:]}"
            )
        print("   HEALTHCHECK inside the image: exit 0")

        uids = serving_uids(server.pid)
        expected = int(config["User"].split(":")[0])
        if not uids:
            fail("no `followup serve` process found under the container")
        if set(uids.values()) != {expected} or expected == 0:
            fail(f"serve runs as uid {sorted(set(uids.values()))}, not the image's user {expected}")
        print(f"   serve runs as uid {expected} (the image's USER), not root")

        done = inside(["python", "-c", CONTENTS_PROBE])
        if done.returncode != 0:
            fail(f"the contents probe failed: {done.stderr.strip()[-400:]}")
        probe = json.loads(done.stdout)
        if probe["found"]:
            fail(f"the final image contains what it must not: {probe['found']}")
        if any(key.startswith("PIP_CERT") for key in config.get("Env", [])):
            fail("PIP_CERT is baked into the image's environment")
        print("   no tests, benchmarks, compilers, pip, wheels or caches in the image")
    except BaseException:
        with contextlib.suppress(CheckFailed):  # the first failure is the one to report
            stop(server)
        raise
    stop(server)

    lines = check_logs(log_path.read_text(errors="replace"))
    print(f"   logs: {lines} lines, every one a JSON object, no phone number")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the serving process, as `docker stop` does; it must exit cleanly."""
    started = time.monotonic()
    for pid in serving_uids(server.pid):
        os.kill(pid, signal.SIGTERM)
    try:
        status = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        for pid in [*descendants(server.pid), server.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        server.wait()
        fail("serve did not stop within 60 s of SIGTERM")
    print(
        f"   serve stopped on SIGTERM in {time.monotonic() - started:.1f} s (buildah run: {status})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--runroot", required=True)
    parser.add_argument("--postgres", required=True, help="any database URL on the server to use")
    parser.add_argument(
        "--database", required=True, help="a fresh database name, dropped afterwards"
    )
    args = parser.parse_args()
    buildah = Buildah(args.root, args.runroot)
    server_url = (
        args.postgres.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    )

    container, created = "", False
    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "serve.log"
        try:
            asyncio.run(create_database(server_url, args.database))  # fails if it exists
            created = True
            name = f"followup-image-check-{os.getpid()}"
            container = buildah.out("from", "--pull-never", "--name", name, args.image).strip()
            check(args, buildah, container, log_path)
            print("   " + image_figures(buildah, args.image, args.base))
        except CheckFailed as problem:
            print(f"FAIL: {problem}", file=sys.stderr)
            if log_path.exists():
                print("--- serve's last log lines:", file=sys.stderr)
                print(
                    "\n".join(log_path.read_text(errors="replace").splitlines()[-20:]),
                    file=sys.stderr,
                )
            return 1
        finally:
            if container:
                buildah_rm = buildah.argv("rm", container)
                subprocess.run(buildah_rm, capture_output=True, check=False)  # noqa: S603
            if created:
                asyncio.run(drop_database(server_url, args.database))
    return 0


if __name__ == "__main__":
    sys.exit(main())
