#!/usr/bin/env bash
# Smoke test of docker compose as the README's "Production: docker compose" runs it: from a fresh
# clone of this repository's HEAD (committed work only), the README's .env recipe, then
# `docker compose up -d --build` of docker-compose.yml and the Dockerfile, unchanged.
#
# Stands in for Docker Hub's images: for a machine that reaches Debian's archive and PyPI but no
# image registry, it builds python:3.11-slim, postgres:16-alpine and redis:7-alpine from Debian
# bookworm's packages (scripts/docker-standins/: Python 3.11, PostgreSQL 15, Redis 7.0, same
# environment variables, commands, data paths and health-check tools as far as the compose file
# uses them) on a base made with debootstrap, and tags them with those names. A tag that already
# holds an image that is not a stand-in (label org.cxbot.standin) is used as it is, never replaced.
# Telegram is the tests' fake Bot API (scripts/docker_smoke_botapi.py) on the host.
#
# Needs: root, a running dockerd, Docker Compose v2.24 or later (`docker compose`, or the
# `docker-compose` binary of v2 on PATH, or CXBOT_COMPOSE=/path/to/it), debootstrap (the first
# time), git, curl, and this repository's venv active (the fake Bot API needs aiohttp).
# Takes 3-10 minutes (the first build of the stand-ins longer); leaves no container, volume or
# network behind (the images stay, for the next run). Not part of .ci/run: it needs dockerd
# and network access to Debian's archive and PyPI, and its build time varies with both.
#
#   sudo scripts/docker-smoke.sh            # CXBOT_SMOKE_WORK=/tmp/cxbot-docker-smoke by default
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${CXBOT_SMOKE_WORK:-/tmp/cxbot-docker-smoke}
PROJECT=cxbot-smoke
BASE=cxbot-standin/debian:bookworm
PORT=${CXBOT_SMOKE_PORT:-18080}      # the published port (README: CXBOT_PUBLISHED_PORT)
BOTAPI_PORT=${CXBOT_SMOKE_BOTAPI_PORT:-18999}
RUN_UID=4242                         # not the image's 1000: any uid that owns ./rules must work
PASSWORD='p@ss:w/rd#1?%x'            # README: @ : / # ? % need no escaping
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
CHAT=123456789

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (dockerd, debootstrap, chown of ./rules)"
docker info > /dev/null 2>&1 || fail "dockerd is not running (start it: dockerd > /tmp/dockerd.log 2>&1 &)"

if [ -n "${CXBOT_COMPOSE:-}" ]; then
    COMPOSE=("$CXBOT_COMPOSE")
elif docker compose version > /dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose > /dev/null && docker-compose version | grep -q 'version v\?2'; then
    COMPOSE=(docker-compose)
else
    fail "no Docker Compose v2 (Debian bookworm's docker-compose is 1.29: it refuses env_file's path/required)"
fi
"${COMPOSE[@]}" version

mkdir -p "$WORK"
CLONE=$WORK/clone
BOTAPI_PID=
cleanup() {
    status=$?
    if [ -d "$CLONE" ]; then
        (cd "$CLONE" && "${COMPOSE[@]}" -p "$PROJECT" logs --no-color > "$WORK/compose.log" 2>&1 || true)
        (cd "$CLONE" && "${COMPOSE[@]}" -p "$PROJECT" down -v --remove-orphans > /dev/null 2>&1 || true)
        rm -rf "$CLONE"
    fi
    [ -n "$BOTAPI_PID" ] && kill "$BOTAPI_PID" 2> /dev/null || true
    [ "$status" = 0 ] && echo "docker smoke: all checks passed" || echo "docker smoke: failed (containers' logs: $WORK/compose.log)"
}
trap cleanup EXIT

# --- the stand-in base images --------------------------------------------------------------------
is_standin() { docker image inspect -f '{{index .Config.Labels "org.cxbot.standin"}}' "$1" 2> /dev/null | grep -q .; }
if ! docker image inspect "$BASE" > /dev/null 2>&1; then
    say "debootstrap bookworm -> $BASE"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian > "$WORK/debootstrap.log"
    tar -C "$WORK/rootfs" -c . | docker import -c 'CMD ["bash"]' - "$BASE"
    rm -rf "$WORK/rootfs"
fi
for pair in python:python:3.11-slim postgres:postgres:16-alpine redis:redis:7-alpine; do
    dir=${pair%%:*} tag=${pair#*:}
    if docker image inspect "$tag" > /dev/null 2>&1 && ! is_standin "$tag"; then
        say "$tag: a real image is here, used as it is"
        continue
    fi
    say "stand-in $tag from scripts/docker-standins/$dir"
    context=$WORK/context-$dir
    rm -rf "$context" && cp -r "$ROOT/scripts/docker-standins/$dir" "$context"
    if [ "$dir" = python ]; then  # the host's own certificate authorities, for its way to PyPI
        mkdir -p "$context/ca"
        cp /usr/local/share/ca-certificates/*.crt "$context/ca/" 2> /dev/null || true
    fi
    docker build -q --build-arg DEBIAN_IMAGE="$BASE" -t "$tag" "$context"
    rm -rf "$context"
done

# --- the fake Telegram, on the host where the containers reach it --------------------------------
# The host's address on docker0 (dockerd 20.10 leaves the bridge network's Gateway field empty).
GATEWAY=$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)
[ -n "$GATEWAY" ] || fail "no IPv4 address on docker0 for the containers to reach the host"
python "$ROOT/scripts/docker_smoke_botapi.py" "$GATEWAY" "$BOTAPI_PORT" > "$WORK/botapi.log" 2>&1 &
BOTAPI_PID=$!
BOTAPI=http://$GATEWAY:$BOTAPI_PORT
for _ in $(seq 50); do curl -sf "$BOTAPI/_smoke/calls" > /dev/null && break; sleep 0.2; done
curl -sf "$BOTAPI/_smoke/calls" > /dev/null || fail "the fake Bot API did not start: $(cat "$WORK/botapi.log")"

# --- the README's recipe, from a fresh clone -----------------------------------------------------
say "fresh clone of $(git -C "$ROOT" rev-parse --short HEAD)"
rm -rf "$CLONE" && git clone -q "$ROOT" "$CLONE"
cd "$CLONE"
mkdir -p rules && chown "$RUN_UID:$RUN_UID" rules
cat > .env << ENV
TELEGRAM_BOT_TOKEN=123456:ABC-smoke
CXBOT_API_TOKEN=$TOKEN
POSTGRES_PASSWORD='$PASSWORD'
CXBOT_UID=$RUN_UID
CXBOT_GID=$RUN_UID
CXBOT_PUBLISHED_PORT=$PORT
TELEGRAM_API_URL=http://$GATEWAY:$BOTAPI_PORT
ENV
API=http://127.0.0.1:$PORT
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

healthy() {  # healthy SERVICE COUNT: wait until COUNT containers of SERVICE are healthy
    local ids n id
    for _ in $(seq 90); do
        ids=$("${COMPOSE[@]}" -p "$PROJECT" ps -q "$1")
        n=0
        for id in $ids; do
            [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] && n=$((n + 1))
        done
        [ "$n" -ge "$2" ] && { echo "$1: $n healthy"; return 0; }
        sleep 2
    done
    "${COMPOSE[@]}" -p "$PROJECT" ps
    fail "$1: $2 container(s) not healthy within 180 s"
}

say "docker compose up -d --build (no rules file)"
"${COMPOSE[@]}" -p "$PROJECT" up -d --build --quiet-pull
for service in postgres redis bot worker; do healthy "$service" 1; done

say "the image: user, /rules, no rules file"
bot=$("${COMPOSE[@]}" -p "$PROJECT" ps -q bot)
[ "$(docker exec "$bot" id -u)" = "$RUN_UID" ] || fail "bot does not run as CXBOT_UID"
docker exec "$bot" sh -c 'touch /rules/.w && rm /rules/.w' || fail "/rules not writable by CXBOT_UID"
[ "$(docker image inspect -f '{{.Config.User}}' cxbot:local)" = cxbot ] || fail "the image's USER is not cxbot"
docker run --rm --entrypoint stat cxbot:local -c %U /rules | grep -qx cxbot || fail "/rules in the image is not cxbot's"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$API/api/v1/rules" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/yaml' --data-binary $'rules: []\n')
[ "$code" = 409 ] || fail "PUT /api/v1/rules without CXBOT_RULES answered $code, not 409"
echo "no rules file: bot and worker healthy, PUT /api/v1/rules answers 409"

say "readyz, and an invitation sent by a worker through the fake Telegram"
curl -sf "$API/readyz" && echo
curl -sf "$API/healthz" > /dev/null || fail "/healthz"
status() { curl -sf "$API/api/v1/invitations/$1" "${AUTH[@]}" | python -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
invite() {  # invite CASE CHAT: POST an invitation, wait until a worker sent it; its id in $id
    made=$(curl -sf -X POST "$API/api/v1/invitations" "${AUTH[@]}" \
        -d "{\"survey\":\"nps\",\"channel\":\"telegram\",\"recipient\":\"$2\",\"case_id\":\"$1\"}") \
        || fail "POST /api/v1/invitations for $1"
    id=$(printf '%s' "$made" | python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    for _ in $(seq 60); do [ "$(status "$id")" = sent ] && break; sleep 1; done
    [ "$(status "$id")" = sent ] || fail "invitation $id ($1) not sent within 60 s: $(status "$id")"
    echo "invitation $id ($1): sent"
}
invite SMOKE-1 "$CHAT"
first=$id
curl -sf "$BOTAPI/_smoke/calls" | python -c "
import json, sys
sent = [c for c in json.load(sys.stdin) if c['method'] == 'sendMessage' and c['params']['chat_id'] == '$CHAT']
assert sent, 'no sendMessage to the customer'
print('customer was sent:', sent[0]['params']['text'][:80])"

say "the customer taps 9: the bot (polling) stores the answer in PostgreSQL"
curl -sf -X POST "$BOTAPI/_smoke/tap" -d "{\"chat\": $CHAT, \"text\": \"9\"}" && echo
for _ in $(seq 30); do [ "$(status "$first")" = started ] && break; sleep 1; done
curl -sf "$API/api/v1/invitations/$first" "${AUTH[@]}" | python -c '
import json, sys
found = json.load(sys.stdin)
scores = [a.get("score") for a in found["answers"]]
assert found["status"] == "started" and 9 in scores, found
print("stored:", found["status"], found["answers"])'

say "the database password with @ : / # ? % is the one PostgreSQL checks"
"${COMPOSE[@]}" -p "$PROJECT" exec -T -e PGPASSWORD=wrong postgres \
    psql -h 127.0.0.1 -U cxbot -d cxbot -c 'select 1' > /dev/null 2>&1 && fail "a wrong password was accepted"
"${COMPOSE[@]}" -p "$PROJECT" exec -T -e PGPASSWORD="$PASSWORD" postgres \
    psql -h 127.0.0.1 -U cxbot -d cxbot -Atc 'select count(*) from invitations' || fail "password refused"

say "the README's rules recipe: write the file, name it in .env, up -d"
cat > rules/rules.yaml << 'YAML'
rules:
  - id: nps-after-close
    match:
      type: [case.closed, case.solved]
    survey: nps
    delay: 30m
YAML
echo 'CXBOT_RULES=/rules/rules.yaml' >> .env
"${COMPOSE[@]}" -p "$PROJECT" up -d
for service in bot worker; do healthy "$service" 1; done
curl -sf "$API/api/v1/rules" "${AUTH[@]}" | python -c '
import json, sys
found = json.load(sys.stdin)
assert [r["id"] for r in found["rules"]] == ["nps-after-close"] and found["error"] is None, found
print("rules:", found["path"], [r["id"] for r in found["rules"]])'
curl -sf -X PUT "$API/api/v1/rules" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/yaml' \
    --data-binary $'rules:\n  - id: csat-after-solve\n    match:\n      type: [case.solved]\n    survey: csat\n' \
    > /dev/null || fail "PUT /api/v1/rules"
grep -q csat-after-solve rules/rules.yaml || fail "PUT /api/v1/rules did not write ./rules/rules.yaml"
echo "PUT /api/v1/rules wrote ./rules/rules.yaml, owner $(stat -c %u rules/rules.yaml)"

say "PostgreSQL, then Redis, restarted under bot and worker: the next invitation is still sent"
"${COMPOSE[@]}" -p "$PROJECT" restart postgres
healthy postgres 1
invite SMOKE-2 $((CHAT + 1))
restarts() { docker inspect -f '{{.RestartCount}}' "$("${COMPOSE[@]}" -p "$PROJECT" ps -q "$1")"; }
# procrastinate stops its worker when its connection is lost ("Side task listener failed ...
# stopping worker"); cxbot starts a new one once PostgreSQL answers, so neither process exits
# (before that fix `cxbot worker` did, and compose's `restart: unless-stopped` started it again).
[ "$(restarts bot)" = 0 ] && [ "$(restarts worker)" = 0 ] \
    || fail "bot ($(restarts bot)) or worker ($(restarts worker)) restarted after PostgreSQL's restart"
echo "after the PostgreSQL restart: bot and worker restarted 0 times"
"${COMPOSE[@]}" -p "$PROJECT" restart redis
healthy redis 1
invite SMOKE-3 $((CHAT + 2))
for service in bot worker; do healthy "$service" 1; done

say "docker compose up -d --scale worker=3"
"${COMPOSE[@]}" -p "$PROJECT" up -d --scale worker=3
healthy worker 3

say "the README's backup: pg_dump through docker compose exec"
"${COMPOSE[@]}" -p "$PROJECT" exec -T postgres pg_dump -U cxbot -Fc cxbot > "$WORK/backup.dump"
[ -s "$WORK/backup.dump" ] && echo "dump: $(stat -c %s "$WORK/backup.dump") bytes"
rm -f "$WORK/backup.dump"

say "SIGTERM: docker compose stop ends bot and workers by themselves, not killed after the grace period"
"${COMPOSE[@]}" -p "$PROJECT" stop -t 75 worker bot
for id in $("${COMPOSE[@]}" -p "$PROJECT" ps -aq bot worker); do
    name=$(docker inspect -f '{{.Name}}' "$id")
    code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
    echo "$name: exit $code"
    [ "$code" != 137 ] || fail "$name was killed (exit 137): it did not stop on SIGTERM"
done

# Found here (2026-12-04), fixed since: the procrastinate worker inside `cxbot run` stopped when
# PostgreSQL restarted while the web process stayed up and healthy, so nothing was sent again
# until cxbot was restarted. Now it starts a new worker; the process does not exit either.
say "CXBOT_EMBEDDED_WORKER=true in .env, worker scaled to 0: bot sends, through a PostgreSQL restart too"
echo 'CXBOT_EMBEDDED_WORKER=true' >> .env
"${COMPOSE[@]}" -p "$PROJECT" up -d --scale worker=0
healthy bot 1
invite SMOKE-4 $((CHAT + 3))
"${COMPOSE[@]}" -p "$PROJECT" restart postgres
healthy postgres 1
[ "$(restarts bot)" = 0 ] || fail "bot restarted $(restarts bot) times after PostgreSQL's restart"
echo "after the PostgreSQL restart: bot restarted 0 times, its /healthz: $(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")"
invite SMOKE-5 $((CHAT + 4))
