# A slim, non-root image that runs `followup serve` against $DATABASE_URL.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock ./
RUN python -m venv /venv && /venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY service ./service
RUN /venv/bin/pip install --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 followup
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=followup:followup schedules ./schedules
COPY --chown=followup:followup locales ./locales
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    STUDY_FILE=/app/schedules/msc-role.toml \
    LOCALES_DIR=/app/locales \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:///app/data/followup.sqlite3
RUN mkdir -p /app/data && chown followup:followup /app/data
USER followup
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live').status != 200)"
CMD ["followup", "serve", "--host", "0.0.0.0", "--port", "8000"]
