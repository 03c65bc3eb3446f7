# RelayPACS Gateway: the API and the built PWA in one image.
# Build: docker build -t relaypacs .   Run with docker compose (see docker-compose.yml).

FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# A Unicode font for the report PDFs (non-Latin patient names); pg_dump/pg_restore 15 (the
# compose stack's PostgreSQL) for `relaypacs backup`.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
        postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY backend/pyproject.toml backend/requirements.lock backend/
COPY backend/relaypacs backend/relaypacs
RUN pip install --disable-pip-version-check -c backend/requirements.lock ./backend \
    && useradd --system --home /app --uid 10001 relaypacs \
    && mkdir -p /app/data/backups && chown -R relaypacs /app/data
COPY --from=frontend /src/frontend/dist /app/frontend/dist
USER relaypacs
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/app/data FRONTEND_DIST=/app/frontend/dist \
    ENVIRONMENT=production LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
CMD ["relaypacs", "serve"]
