# syntax=docker/dockerfile:1
# newsbrief: one image, `newsbrief run` by default. Build: docker build -t newsbrief .

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY prompts ./prompts
COPY seeds ./seeds
RUN python -m pip wheel --wheel-dir /wheels .

FROM python:3.11-slim-bookworm AS runtime
# MALLOC_ARENA_MAX=2: glibc gives every thread its own arena; two keep a threaded service's RSS flat.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 MALLOC_ARENA_MAX=2 \
    DATA_DIR=/data HTTP_PORT=8080
RUN useradd --create-home --uid 10001 newsbrief \
    && mkdir /data && chown newsbrief /data
COPY --from=build /wheels /wheels
RUN python -m pip install --no-index --find-links=/wheels newsbrief && rm -rf /wheels
USER newsbrief
WORKDIR /home/newsbrief
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"
CMD ["newsbrief", "run"]
