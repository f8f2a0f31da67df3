FROM python:3.11-slim

# MPLCONFIGDIR: matplotlib's cache in a place any uid can write (compose may run another uid).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app

# The dependencies first, exactly as locked (hashes checked): a code change does not reinstall
# them. Regenerate requirements.lock when pyproject.toml's dependencies change (see README).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY surveys ./surveys
COPY storage ./storage
COPY bot ./bot
# cxbot itself, with nothing added: every dependency came from the lock above.
RUN pip install --no-deps . \
    && useradd --uid 1000 --create-home cxbot \
    && mkdir /rules && chown cxbot:cxbot /rules
USER cxbot

EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
# `cxbot run` applies the database migrations before it starts serving.
CMD ["cxbot", "run"]
