"""bench/delivery.py's figures: what the fake Bot API recorded, measured and printed."""

from __future__ import annotations

import argparse
import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC

from answering import (  # bench/answering.py
    Customers,
    ReplyFigures,
    is_invitation,
    reply_dues,
    reply_figures,
)
from botapi_process import Call as RemoteCall  # bench/botapi_process.py

from storage.db import Database
from storage.tables import InvitationStatus
from tests.bot.delivery.fleet import invitation_rows
from tests.bot.telegram.botapi import BotAPI, Call

TARGET_FRACTION = 0.95
TARGET_BEYOND_S = 2.0
WAITING = (InvitationStatus.SCHEDULED.value, InvitationStatus.SENDING.value)


@dataclass(frozen=True)
class Figures:
    sent: int
    seconds: float
    rate: float
    lag_p50: float
    lag_p99: float
    beyond_p50: float
    beyond_p99: float
    beyond_max: float
    lost: int
    unsettled: int
    duplicated: int
    refused: int
    statuses: Counter[str]
    replies: ReplyFigures | None = None
    replies_share: float = 0.0
    counted_rate: float = 0.0
    # Every message counted, in the order received: (arrived, earliest the limit allows,
    # an invitation?), epoch seconds; for --timeline.
    timeline: tuple[tuple[float, float, bool], ...] = ()
    refused_at: tuple[float, ...] = ()  # every 429's arrival, epoch seconds


def percentile(values: list[float], fraction: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def forced(dues: list[float], per_second: float) -> list[float]:
    """The earliest moment the i-th message can arrive: its due time, one gap after the last."""
    earliest: list[float] = []
    for due in sorted(dues):
        earliest.append(max(due, earliest[-1] + 1 / per_second) if earliest else due)
    return earliest


async def measure(
    database: Database,
    botapi: BotAPI,
    chats: list[int],
    per_second: float,
    customers: Customers | None = None,
) -> Figures:
    rows = await invitation_rows(database)
    invitations = [
        call for call in botapi.calls if call.status == 200 and is_invitation(as_remote(call))
    ]
    per_chat = Counter(str(call.params["chat_id"]) for call in invitations)
    first_at: dict[str, float] = {}
    for call in invitations:
        first_at.setdefault(str(call.params["chat_id"]), call.at)
    # scheduled_at is naive UTC; the server's times are epoch seconds.
    due = {chat: row.scheduled_at.replace(tzinfo=UTC).timestamp() for chat, row in rows.items()}
    lags = sorted(first_at[chat] - due[chat] for chat in first_at if chat in due)
    # Every message the server counted, invitations and replies to answering customers: the
    # i-th cannot arrive before the i-th earliest moment the limit allows, given when each
    # could go at the soonest (an invitation's due time, a reply's update).
    counted = [(at, due[chat], True) for chat, at in first_at.items() if chat in due]
    if customers is not None:
        calls = [as_remote(call) for call in botapi.calls]
        counted += [(at, soonest, False) for at, soonest in reply_dues(customers.answered, calls)]
    counted.sort()
    earliest = forced([soonest for _, soonest, _ in counted], per_second)
    beyond = sorted(
        arrived - soonest
        for (arrived, _, invitation), soonest in zip(counted, earliest, strict=True)
        if invitation
    )
    arrivals = sorted(first_at.values())
    start = min(due.values())
    seconds = arrivals[-1] - start if arrivals else 0.0
    # While the backlog lasted: every counted message, invitations and replies.
    during = [at for at, _, _ in counted if start <= at <= arrivals[-1]] if arrivals else []
    refused = [c for c in botapi.calls if c.status == 429 and is_invitation(as_remote(c))]
    return Figures(
        sent=len(invitations),
        seconds=seconds,
        rate=(len(arrivals) - 1) / seconds if seconds > 0 else 0.0,
        lag_p50=percentile(lags, 0.50) if lags else math.nan,
        lag_p99=percentile(lags, 0.99) if lags else math.nan,
        beyond_p50=percentile(beyond, 0.50) if beyond else math.nan,
        beyond_p99=percentile(beyond, 0.99) if beyond else math.nan,
        beyond_max=beyond[-1] if beyond else math.nan,
        # A chat without a message whose row is settled; rows still waiting when the bench
        # stopped waiting are not lost, they are counted apart (`statuses`, `unsettled`).
        lost=sum(
            per_chat[str(chat)] == 0 and rows[str(chat)].status not in WAITING for chat in chats
        ),
        unsettled=sum(row.status in WAITING for row in rows.values()),
        duplicated=sum(count > 1 for count in per_chat.values()),
        refused=len(refused),
        statuses=Counter(row.status for row in rows.values()),
        replies=reply_figures(customers.answered, calls) if customers is not None else None,
        replies_share=(len(counted) - len(first_at)) / len(counted) if counted else 0.0,
        counted_rate=(len(during) - 1) / seconds if seconds > 0 else 0.0,
        refused_at=tuple(sorted(c.at for c in botapi.calls if c.status == 429)),
        timeline=tuple(
            (arrived, soonest, invitation)
            for (arrived, _, invitation), soonest in zip(counted, earliest, strict=True)
        ),
    )


def write_timeline(path: str, figures: Figures) -> None:
    """One line a message counted: seconds from the first one's earliest moment to its arrival,
    to the earliest the limit allows, and the lag beyond it; then the 429s' arrivals."""
    if not figures.timeline:
        return
    origin = figures.timeline[0][1]
    with open(path, "w", encoding="utf-8") as out:
        out.write("kind,arrived,earliest,beyond\n")
        for arrived, soonest, invitation in figures.timeline:
            kind = "invitation" if invitation else "reply"
            out.write(
                f"{kind},{arrived - origin:.4f},{soonest - origin:.4f},{arrived - soonest:.4f}\n"
            )
        for at in figures.refused_at:
            out.write(f"429,{at - origin:.4f},,\n")


def as_remote(call: Call) -> RemoteCall:
    return RemoteCall(call.method, call.params, call.status, call.at)


def report(args: argparse.Namespace, figures: Figures) -> bool:
    fraction = figures.rate / args.per_second
    offered = args.invitations / args.spread if args.spread > 0 else math.inf
    print(
        f"invitations: {args.invitations}; workers: {args.workers} x {args.concurrency} jobs; "
        f"rate: {args.rate}; server limit: {args.server_limit}/s (429, retry_after "
        f"{args.retry_after}); due over {args.spread:g} s; poll {args.poll:g} s; "
        f"fake Bot API: {args.server}"
        + (f" (nice {args.server_nice})" if args.server == "process" else "")
    )
    print(f"sent: {figures.sent} in {figures.seconds:.1f} s (from the due moment to the last)")
    verdict = "meets" if fraction >= TARGET_FRACTION else "BELOW"
    print(
        f"achieved rate: {figures.rate:.2f}/s = {fraction:.3f} of the limit "
        f"({verdict} target {TARGET_FRACTION})"
        + (f"; offered {offered:.1f}/s" if offered < args.per_second else "")
    )
    print(f"lag due -> received: p50 {figures.lag_p50:.2f} s, p99 {figures.lag_p99:.2f} s")
    verdict = "meets" if figures.beyond_p99 < TARGET_BEYOND_S else "ABOVE"
    print(
        f"lag beyond what the limit forces: p50 {figures.beyond_p50:.2f} s, "
        f"p99 {figures.beyond_p99:.2f} s ({verdict} target {TARGET_BEYOND_S:g} s), "
        f"max {figures.beyond_max:.2f} s"
    )
    print(f"lost: {figures.lost}; duplicated: {figures.duplicated} (target 0 / 0)")
    if figures.unsettled:
        print(f"NOT FINISHED: {figures.unsettled} still queued when the bench stopped waiting")
    print(f"429s seen by invitations: {figures.refused}")
    if (replies := figures.replies) is not None:
        print(
            f"answering: {replies.customers} customers tapped ({args.answering:g}/s), "
            f"{replies.thanked} thanked; {replies.replies} replies sent "
            f"({figures.replies_share:.1%} of the messages counted), {replies.refused} 429s"
        )
        print(
            f"invitations and replies during the backlog: {figures.counted_rate:.2f}/s = "
            f"{figures.counted_rate / args.per_second:.3f} of the limit"
        )
        print(
            f"reply latency: tap -> 'why?' p50 {replies.tap_p50:.3f} s, p99 "
            f"{replies.tap_p99:.3f} s; comment -> thanks p50 {replies.comment_p50:.3f} s, "
            f"p99 {replies.comment_p99:.3f} s"
        )
    print(f"statuses: {dict(sorted(figures.statuses.items()))}")
    print("load average (1, 5, 15 min) at the start: {:.2f} {:.2f} {:.2f}".format(*args.load))
    print("load average (1, 5, 15 min) at the end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    unthanked = figures.replies.customers - figures.replies.thanked if figures.replies else 0
    if unthanked:
        print(f"NOT THANKED: {unthanked} customers who commented got no thanks")
    return (
        figures.lost == 0 and figures.duplicated == 0 and figures.unsettled == 0 and not unthanked
    )
