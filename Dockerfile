# The light FlowLens image: API, UI and migrations. No torch, no transformer-lens (the API and UI
# never import them); a few hundred MB. Build: docker build -t flowlens:latest .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLOWLENS_ARTIFACT_ROOT=/data/artifacts

WORKDIR /app

COPY constraints.txt pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY backend ./backend
COPY frontend ./frontend
COPY worker ./worker
# the light install: pyproject.toml's dependencies without extras (no torch), at the pinned
# versions; editable, so that alembic.ini stays beside the code (backend/migrate.py finds it)
RUN pip install -c constraints.txt -e . \
    && useradd --create-home --uid 10001 flowlens \
    && mkdir -p /data/artifacts \
    && chown flowlens /data/artifacts

USER flowlens
EXPOSE 8000 8050
CMD ["flowlens", "api", "--host", "0.0.0.0", "--port", "8000"]
