# The follow-up service's production image: Debian's own Python 3.11 on
# debian:bookworm-slim, the dependencies from requirements.lock with their hashes,
# run as a non-root user. Build and run: docs/deploy.md; CI builds and runs it
# (.ci/image).

# Debian's Python, the same in the build and the final stage: the virtualenv links to
# /usr/bin/python3.11.
FROM debian:bookworm-slim AS python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

# Build stage: a virtualenv with exactly the locked wheels (binary only, so no
# compiler is needed anywhere), then the service itself, then pip, its build tools
# and the test suites some wheels ship (icalendar, aiosqlite, certifi) taken out.
FROM python AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
# Behind a TLS-inspecting proxy, mount its CA bundle for the build and name it here
# (--build-arg PIP_CERT=…); it is used by pip and never stored in the image.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
RUN python3 -m venv /venv \
 && /venv/bin/pip install ${PIP_CERT:+--cert "$PIP_CERT"} --require-hashes \
      --only-binary=:all: --no-deps -r requirements.lock -r requirements-build.lock
COPY pyproject.toml README.md ./
COPY service ./service
RUN /venv/bin/pip install --no-deps --no-build-isolation --no-index . \
 && /venv/bin/pip uninstall -y setuptools wheel pip \
 && rm -f /venv/bin/pip* /venv/bin/wheel \
 && find /venv -depth -type d -name tests -exec rm -rf {} +

# Final stage: Python, the virtualenv, the protocol file and the catalogs. Nothing
# else: no compiler, no pip, no caches, no tests.
FROM python
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin followup
COPY --from=build /venv /venv
WORKDIR /app
COPY schedules ./schedules
COPY locales ./locales
RUN mkdir -p /app/data && chown followup:followup /app/data
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STUDY_FILE=/app/schedules/msc-role.toml \
    LOCALES_DIR=/app/locales \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:///app/data/followup.sqlite3
USER 10001:10001
# PORT is the image's own: the port `serve` listens on and the health check asks.
ENV PORT=8000
EXPOSE 8000
# Ready, not merely alive: the database answers, migrations are current, the
# scheduler runs. Python's own urllib, as the image has no curl. (A `worker`
# container serves no HTTP: disable the check there, as compose.yaml does.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/ready' % os.environ['PORT'], timeout=4)"]
CMD ["sh", "-c", "exec followup serve --host 0.0.0.0 --port \"$PORT\""]
