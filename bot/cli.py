"""The `cxbot` command: run, worker, send, link, demo, db upgrade, surveys, rules.

Only the standard library is imported at the top: `cxbot --help` (and a typo) answers at once,
and each command imports what it needs when it runs (aiogram alone takes seconds to import).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
# Long-running commands: their stderr is a log collector's, so with CXBOT_LOG_FORMAT=json even
# the reason they stop is a JSON record. One-shot commands print to the person who ran them.
SERVICES = ("run", "worker")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxbot", description="NPS, CSAT and CES surveys inside Telegram and Slack."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the HTTP API and the chat channels")

    worker = commands.add_parser("worker", help="send queued invitations (PostgreSQL only)")
    worker.add_argument("--concurrency", type=int, help="parallel jobs (CXBOT_WORKER_CONCURRENCY)")
    worker.add_argument(
        "--heartbeat", type=float, metavar="SECONDS", help="seconds between heartbeats (10)"
    )
    worker.add_argument(
        "--stalled-after",
        type=float,
        metavar="SECONDS",
        help="a worker silent this long is dead: its jobs are taken over (30)",
    )

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply every migration")

    send = commands.add_parser("send", help="invite one customer now, as the API does")
    send.add_argument("--survey", required=True, help="survey id, e.g. nps, csat, ces")
    send.add_argument("--channel", required=True, help="telegram or slack")
    send.add_argument("--to", dest="recipient", help="chat id, user id or email")
    send.add_argument("--email", help="the person's email (Telegram: instead of --to, by link)")
    send.add_argument("--requester", help="the person's help desk id, e.g. zendesk:12345")
    send.add_argument("--case", required=True, dest="case_id", help="support case id")
    send.add_argument("--user", help="Telegram user id when --to is a group chat")
    send.add_argument(
        "--language",
        help="a language of the survey, e.g. en, pl or ro (default: the customer's own)",
    )
    send.add_argument(
        "--attr", action="append", default=[], metavar="KEY=VALUE", help="agent=ana, team=billing"
    )

    link = commands.add_parser("link", help="print a Telegram invitation's link")
    link.add_argument("invitation", type=int, metavar="ID", help="the invitation's id")
    link.add_argument("--qr", metavar="FILE", help="also write the link as a QR code PNG")

    demo = commands.add_parser("demo", help="try a survey in this terminal, no setup needed")
    demo.add_argument("--survey", default="nps", help="survey id for the interactive demo")
    demo.add_argument("--language", help="one of the survey's languages, e.g. en, pl or ro")
    demo.add_argument("--auto", type=int, metavar="N", help="N customers answer at random")
    demo.add_argument("--seed", type=int, help="seed for --auto, for a repeatable run")

    commands.add_parser("surveys", help="check and list the surveys (built-in and custom)")

    rules = commands.add_parser("rules", help="trigger rules")
    rules.add_argument("action", choices=["check"], help="check: validate a rules file")
    rules.add_argument("file", nargs="?", help="the rules file (default: CXBOT_RULES)")
    return parser


def _attributes(pairs: Sequence[str]) -> dict[str, str]:
    from bot.invite import InvalidInvitation

    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidInvitation("attributes", f"--attr takes KEY=VALUE, not {pair!r}")
        found[name.strip()] = value.strip()
    return found


async def _send(settings: Settings, args: argparse.Namespace) -> int:
    from bot.http import invitation_json
    from bot.invite import InvitationRequest
    from bot.services import open_services
    from storage.invitations import get_invitation
    from storage.tables import InvitationStatus

    request = InvitationRequest(
        survey=args.survey,
        channel=args.channel,
        recipient=args.recipient,
        person=_person(args.email, args.requester),
        case_id=args.case_id,
        user=args.user,
        language=args.language,
        attributes=_attributes(args.attr),
    )
    services = await open_services(settings)
    try:
        receipt = await services.invite(request)
        invitation = receipt.invitation
        assert invitation.id is not None
        if receipt.created and invitation.status != InvitationStatus.AWAITING_LINK:
            await services.delivery.submit(invitation.id)
            await services.delivery.drain()  # the send is part of this command
        async with services.database.session() as session:
            fresh = await get_invitation(session, invitation.id)
        assert fresh is not None
        body = invitation_json(fresh, await services.link(fresh)) | {"created": receipt.created}
        import json

        print(json.dumps(body))
        return 1 if fresh.status == "failed" else 0
    finally:
        await services.close()


def _person(email: str | None, requester: str | None) -> dict[str, str] | None:
    given = {"email": email, "requester": requester}
    return {name: value for name, value in given.items() if value is not None} or None


async def _link(settings: Settings, invitation_id: int, qr: str | None) -> int:
    from bot.services import open_services
    from storage.invitations import get_invitation
    from storage.links import ensure_link_token
    from storage.tables import MAX_ID

    if not 0 < invitation_id <= MAX_ID:  # beyond the column: the query itself would fail
        print(
            f"cxbot: no invitation {invitation_id}: invitation ids are 1 to {MAX_ID}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    services = await open_services(settings)
    try:
        async with services.database.session() as session:
            invitation = await get_invitation(session, invitation_id)
            if invitation is not None:  # one made before links existed gets its token now
                invitation.link_token = await ensure_link_token(session, invitation_id)
                await session.commit()
        if invitation is None:
            print(f"cxbot: no invitation {invitation_id}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if invitation.channel != "telegram":
            print(
                f"cxbot: invitation {invitation_id} is on {invitation.channel}: links are "
                "for Telegram invitations",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        link = await services.link(invitation)
        if link is None:
            print(
                "cxbot: the bot's username is unknown: set TELEGRAM_BOT_USERNAME, or check "
                "TELEGRAM_BOT_TOKEN (getMe did not answer)",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
    finally:
        await services.close()
    print(link)
    if invitation.status in ("completed", "expired", "failed"):
        print(
            f"cxbot: note: the survey is {invitation.status}; the link only says so",
            file=sys.stderr,
        )
    if qr is not None:
        import segno

        segno.make(link, error="m").save(qr, kind="png", scale=8, border=4)
        print(f"QR code written to {qr}", file=sys.stderr)
    return 0


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        from bot.main import serve

        await serve(settings)
        return 0
    if args.command == "worker":
        from bot.delivery.process import work

        await work(settings, args.concurrency, args.heartbeat, args.stalled_after)
        return 0
    if args.command == "db":
        from storage.db import Database

        database = Database(settings.database_url)
        try:
            await database.ping()
            await database.upgrade()
        finally:
            await database.dispose()
        print(f"database at {database.url} is up to date")
        return 0
    if args.command == "send":
        return await _send(settings, args)
    if args.command == "link":
        return await _link(settings, args.invitation, args.qr)
    if args.command == "demo":
        from bot.terminal import demo

        if "database_url" not in settings.model_fields_set:
            # Practice answers stay out of the file `cxbot run` uses (cxbot.db).
            settings = settings.model_copy(update={"database_url": demo.DEMO_DATABASE_URL})
        if args.auto is not None:
            if args.auto < 1:
                from bot.invite import InvalidInvitation

                raise InvalidInvitation("auto", "--auto takes a number of customers, 1 or more")
            print(await demo.auto(settings, args.auto, ["nps", "csat", "ces"], args.seed))
        else:
            print(await demo.interactive(settings, args.survey, args.language))
        return 0
    if args.command == "surveys":
        from surveys.catalog import Catalog

        catalog = Catalog.load(settings.surveys_dir)
        for survey in catalog:
            kind = survey.kind.value if survey.kind else "-"
            languages = ", ".join(survey.languages)
            count = len(survey.questions)
            print(f"{survey.id}\t{kind}\t{languages}\t{count} question{'s' * (count != 1)}")
        return 0
    if args.command == "rules":
        return _check_rules(settings, args.file)
    raise AssertionError(args.command)


def _check_rules(settings: Settings, file: str | None) -> int:
    from pathlib import Path

    from surveys.catalog import Catalog
    from surveys.rules import load_rules

    path = Path(file) if file else settings.rules_path
    if path is None:
        print("cxbot: name a rules file, or set CXBOT_RULES", file=sys.stderr)
        return EXIT_BAD_INPUT
    catalog = Catalog.load(settings.surveys_dir)
    rules = load_rules(path, catalog.languages())  # InvalidRules: file:line: field
    paused = sum(rule.paused for rule in rules.rules)
    print(f"{path}: {len(rules.rules)} rules ({paused} paused): {', '.join(rules.ids) or 'none'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # --help and usage errors end here, before any import

    from pydantic import ValidationError

    from bot.errors import BotError
    from bot.invite import InvalidInvitation
    from bot.logs import configure_logging
    from bot.settings import Settings
    from storage.errors import StorageError
    from surveys.errors import SurveyError

    try:
        settings = Settings()
    except ValidationError as failure:
        first = failure.errors(include_url=False)[0]
        log_format = _log_format_asked()
        if args.command in SERVICES and log_format == "json":
            configure_logging("INFO", "json")
        return _refuse(args.command, log_format, f"bad setting {first['loc'][0]}: {first['msg']}")
    level = settings.log_level.upper()
    if args.command not in SERVICES and "CXBOT_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # one-shot commands print their result; INFO lines would bury it
    configure_logging(level, settings.log_format)
    try:
        import asyncio

        return asyncio.run(_main(args, settings))
    except (StorageError, SurveyError, BotError) as failure:
        return _refuse(args.command, settings.log_format, str(failure))
    except InvalidInvitation as failure:
        return _refuse(args.command, settings.log_format, f"{failure.field}: {failure.message}")
    except ValidationError as failure:
        first = failure.errors(include_url=False)[0]
        return _refuse(
            args.command, settings.log_format, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        )
    except KeyboardInterrupt:
        return 130
    except Exception:
        # A log record, not Python's bare traceback: one JSON line with CXBOT_LOG_FORMAT=json.
        import logging

        logging.getLogger("bot.cli").exception("cxbot %s stopped on an error", args.command)
        return EXIT_FAILED


def _refuse(command: str, log_format: str, message: str) -> int:
    """Say why ``command`` cannot go on: a service told to log JSON says it as a JSON record."""
    if command in SERVICES and log_format == "json":
        import logging

        logging.getLogger("bot.cli").error("%s", message)
    else:
        print(f"cxbot: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _log_format_asked() -> str:
    """CXBOT_LOG_FORMAT from the environment or .env, for when the settings as a whole are bad."""
    value = os.environ.get("CXBOT_LOG_FORMAT")
    if value is None and os.path.exists(".env"):
        from dotenv import dotenv_values

        value = dotenv_values(".env").get("CXBOT_LOG_FORMAT")
    return "json" if value == "json" else "text"


if __name__ == "__main__":
    sys.exit(main())
