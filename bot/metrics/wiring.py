"""Hooks the counters onto the runner's answers and the platforms' 429s, once, at start."""

from __future__ import annotations

import functools

from bot.metrics.counters import ANSWERS, RATE_LIMITED
from bot.runner import AnswerGiven, SurveyRunner
from bot.slack import SlackService
from bot.slack.retry import shared_rate_limit_handler
from bot.telegram import TelegramService
from bot.telegram.retry import retry_after_middleware


def count_answers(runner: SurveyRunner) -> None:
    """Count every answer the runner stores (told to its listeners once the lock is freed)."""

    async def counted(given: AnswerGiven) -> None:
        ANSWERS.labels(given.channel, given.survey_id, given.kind).inc()

    runner.listeners.append(counted)


def count_rate_limits(telegram: TelegramService | None, slack: SlackService | None) -> None:
    """Count every 429 the platforms answer, where their retry-after is heard."""
    if telegram is not None and (middleware := retry_after_middleware(telegram.bot)):
        middleware.listeners.append(functools.partial(_rate_limited, "telegram"))
    if slack is not None and (handler := shared_rate_limit_handler(slack.client)):
        handler.listeners.append(functools.partial(_rate_limited, "slack"))


async def _rate_limited(channel: str, address: str | None, seconds: float) -> None:
    RATE_LIMITED.labels(channel).inc()
