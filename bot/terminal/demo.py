"""`cxbot demo`: a survey in the terminal, or N customers answering at random."""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from collections.abc import Sequence
from typing import TextIO

from bot.services import Services, open_services
from bot.settings import Settings
from bot.terminal.channel import TerminalChannel, skip_word
from storage.answers import answers_for
from storage.clock import utcnow
from storage.invitations import NewInvitation, create_invitation
from storage.respondents import upsert_respondent
from surveys.conversation import Prompt, Skip, Tap
from surveys.definitions import SCALES, SUPPORTED_LANGUAGES, QuestionKind
from surveys.messages import Message, message
from surveys.scoring import Score, score

# Where the demo writes unless DATABASE_URL says otherwise: not cxbot.db, which `cxbot run` uses.
DEMO_DATABASE_URL = "sqlite+aiosqlite:///cxbot-demo.db"

COMMENTS = {
    "en": ["Quick and friendly, thanks!", "It took too long to get an answer.", "Solved at once."],
    "pl": ["Szybko i sprawnie, dziękuję!", "Za długo czekałem na odpowiedź.", "Od razu pomogli."],
    "ro": ["Rapid și amabil, mulțumesc!", "Am așteptat prea mult un răspuns.", "Rezolvat imediat."],
}


async def _invite(services: Services, survey_id: str, who: str, language: str | None) -> int:
    async with services.database.session() as session:
        respondent = await upsert_respondent(session, "demo", who)
        assert respondent.id is not None
        invitation, _ = await create_invitation(
            session,
            NewInvitation(
                survey_id=survey_id,
                case_id=f"demo-{uuid.uuid4().hex[:12]}",
                channel="demo",
                address=who,
                respondent_id=respondent.id,
                language=language,
                attributes={"team": "demo"},
                scheduled_at=utcnow(),
            ),
        )
        await session.commit()
    assert invitation.id is not None
    await services.runner.deliver(invitation.id)
    return invitation.id


async def _scores(services: Services, invitation_ids: Sequence[int]) -> dict[QuestionKind, Score]:
    values: dict[QuestionKind, list[int]] = {}
    async with services.database.session() as session:
        for invitation_id in invitation_ids:
            for answer in await answers_for(session, invitation_id):
                kind = QuestionKind(answer.kind)
                if kind.is_scale and answer.score is not None:
                    values.setdefault(kind, []).append(answer.score)
    return {kind: score(kind, found) for kind, found in values.items()}


def _random_reply(prompt: Prompt, rng: random.Random, language: str) -> Tap | Skip | str:
    if prompt.kind is QuestionKind.TEXT:
        return rng.choice(COMMENTS[language]) if rng.random() < 0.6 else Skip(prompt.question_id)
    values = [c.value for c in prompt.choices]
    # Most customers are content: lean the taps toward the top of the scale.
    weights = [1 + i for i in range(len(values))]
    return Tap(prompt.question_id, rng.choices(values, weights)[0])


async def auto(settings: Settings, count: int, surveys: Sequence[str], seed: int | None) -> str:
    rng = random.Random(seed)
    channel = TerminalChannel(out=None)
    services = await open_services(settings, extra_channels={"demo": channel})
    try:
        invited: list[int] = []
        for i in range(count):
            who = f"demo-customer-{uuid.uuid4().hex[:8]}"
            language = rng.choice(SUPPORTED_LANGUAGES)
            invited.append(await _invite(services, surveys[i % len(surveys)], who, language))
            while (prompt := channel.waiting.get(who)) is not None:
                reply = _random_reply(prompt, rng, language)
                if isinstance(reply, str):
                    await services.runner.handle_text("demo", who, reply, language)
                else:
                    await services.runner.handle_button("demo", invited[-1], who, reply, language)
        results = await _scores(services, invited)
    finally:
        await services.close()
    lines = [f"{count} invitations answered at random ({services.database.url})"]
    lines += [results[kind].format() for kind in sorted(results, key=list(QuestionKind).index)]
    return "\n".join(lines)


async def interactive(
    settings: Settings,
    survey_id: str,
    language: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> str:
    """One survey in the terminal; returns the closing summary, in the survey's language."""
    channel = TerminalChannel(out=stdout)
    services = await open_services(settings, extra_channels={"demo": channel})
    who = f"demo-you-{uuid.uuid4().hex[:8]}"
    spoken = services.catalog.get(survey_id).resolve_language(language)
    try:
        invitation_id = await _invite(services, survey_id, who, language)
        channel.flush()
        while (prompt := channel.waiting.get(who)) is not None:
            spoken = prompt.language
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                return "demo stopped: no more input"
            text = line.strip()
            if prompt.skippable and is_skip(text, prompt.language):
                outcome = await services.runner.handle_button(
                    "demo", invitation_id, who, Skip(prompt.question_id), language
                )
            elif prompt.choices and any(text == c.value for c in prompt.choices):
                outcome = await services.runner.handle_button(
                    "demo", invitation_id, who, Tap(prompt.question_id, text), language
                )
            else:
                outcome = await services.runner.handle_text("demo", who, text, language)
            if outcome.notice:
                stdout.write(f"  ! {outcome.notice}\n")
            channel.flush()
        results = await _scores(services, [invitation_id])
    finally:
        await services.close()
    where = services.database.url
    return "\n".join(["", *(summary(s, spoken, where) for s in results.values())])


def is_skip(text: str, language: str) -> bool:
    """`skip`, or the Skip button's word in the survey's language (any case)."""
    typed = text.strip().casefold()
    return typed in {"skip", skip_word(language).casefold()}


def summary(result: Score, language: str, where: str) -> str:
    """The demo's last line: the score the answer gives, in the survey's language."""
    value = result.value
    if value is None:
        shown = "n/a"
    elif result.kind is QuestionKind.NPS:
        shown = f"{value:+.0f}"
    elif result.kind is QuestionKind.CSAT:
        shown = f"{value:.0f}%"
    else:
        shown = f"{value:.1f} / {SCALES[result.kind][1]}"
        if language in {"pl", "ro"}:  # a decimal comma
            shown = shown.replace(".", ",")
    name = result.kind.value.upper()
    return message(Message.DEMO_SUMMARY, language, name=name, value=shown, n=result.n, where=where)
