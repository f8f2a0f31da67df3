FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY surveys ./surveys
COPY storage ./storage
COPY bot ./bot
RUN pip install . && useradd --create-home cxbot
USER cxbot

EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
# `cxbot run` applies the database migrations before it starts serving.
CMD ["cxbot", "run"]
