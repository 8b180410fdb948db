# The drop-in Airbyte source image: add it to a workspace as a custom source, or run
#   docker run --rm IMAGE spec
#   docker run --rm -v $PWD:/data:ro IMAGE read --config /data/config.json --catalog /data/catalog.json
#   docker run --rm -p 8080:8080 -e SOLIDAFY_API_TOKEN=... IMAGE serve --host 0.0.0.0 --port 8080
# CI builds it unchanged with podman and tests the image: make container-test (docs/airbyte.md).
# A build stage, so the final image carries the installed package and nothing used to build it, and
# before it one that only lists the pinned dependencies: the cached layer of their installation then
# depends on that list, not on the rest of pyproject.toml (dev tools, comments, settings).
FROM python:3.11-slim AS requirements
COPY pyproject.toml container/slim_venv.py /src/
RUN python /src/slim_venv.py requirements /src/pyproject.toml cloud >/requirements.txt

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# binutils' strip, for the build stage only (the final stage has no build tools).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null
WORKDIR /src
COPY container/slim_venv.py /tmp/slim_venv.py
# The dependencies first (pyproject.toml's `dependencies` and `cloud` extra), so a change to the
# source reuses this layer. Trimmed here (see slim_venv.py: tests, headers, Arrow Flight, debug
# symbols, botocore models, packed DuckDB extensions) and byte-compiled once: the final image never
# writes bytecode (read-only for its non-root user).
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/solidafy \
    && /opt/solidafy/bin/pip install --no-compile -r /tmp/requirements.txt \
    && /opt/solidafy/bin/python /tmp/slim_venv.py dependencies /opt/solidafy \
    && /opt/solidafy/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/solidafy/lib
# Then the package itself (its dependencies are all there: pip adds only source-solidafy), and pip
# and setuptools leave: the image installs nothing at run time.
COPY pyproject.toml README.md ./
COPY source_solidafy ./source_solidafy
COPY connectors ./connectors
RUN /opt/solidafy/bin/pip install --no-compile ".[cloud]" \
    && /opt/solidafy/bin/python /tmp/slim_venv.py installers /opt/solidafy \
    && /opt/solidafy/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash \
       /opt/solidafy/lib/python3.11/site-packages/source_solidafy

FROM python:3.11-slim

ENV PATH="/opt/solidafy/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/solidafy /opt/solidafy
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin airbyte
USER airbyte
WORKDIR /home/airbyte

# Airbyte runs AIRBYTE_ENTRYPOINT when it overrides the entrypoint: it must be the ENTRYPOINT below.
ENV AIRBYTE_ENTRYPOINT="source-solidafy"
ENTRYPOINT ["source-solidafy"]
EXPOSE 8080

LABEL io.airbyte.name="solidafy/source-solidafy" \
      io.airbyte.version="0.1.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.title="source-solidafy" \
      org.opencontainers.image.description="REST APIs and SQL databases to JSON lines or Parquet; a drop-in Airbyte source." \
      org.opencontainers.image.licenses="MIT"
