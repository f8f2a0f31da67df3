"""Rules and decisions as chat text, for `/triggers` and `/why CASE`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from storage.decisions import CaseDecision
from storage.tables import DecisionOutcome, TicketWrite, TicketWriteStatus
from storage.ticket_writes import REPLY_QUESTION
from surveys.rules import Match, Rule, RuleSet
from surveys.schedule import format_duration

# Keeps a reply inside one Telegram message (4096 characters).
MAX_DECISIONS = 15
MAX_DETAIL = 240
NO_RULES_FILE = "no rules file: set CXBOT_RULES to a rules file to survey closed cases"


def stamp(moment: datetime) -> str:
    """``2026-11-22 12:30 UTC`` (stored times are naive UTC)."""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def match_summary(match: Match) -> str:
    """What a rule matches, e.g. ``type case.closed; team billing; tags vip|refund``."""
    parts = [
        (name, values)
        for name, values in (
            ("type", match.types),
            ("channel", match.channels),
            ("team", match.teams),
            ("agent", match.agents),
            ("priority", match.priorities),
            ("tags", match.tags),
        )
        if values
    ]
    if not parts:
        return "every event"
    return "; ".join(f"{name} {'|'.join(values)}" for name, values in parts)


def rule_line(rule: Rule) -> str:
    """One rule on one line: id, state, match, survey (and language), delay, window, sample,
    quarantine, then expiry and reminder when the rule sets them."""
    state = "⏸ paused" if rule.paused else "▶ active"
    window = f"{rule.window} {rule.timezone}" if rule.window else "any time"
    days = rule.quarantine_days
    quarantine = f"{days:g} day{'' if days == 1 else 's'}" if days else "none"
    language = f" in {rule.language}" if rule.language else ""
    line = (
        f"• {rule.id} ({state}): {match_summary(rule.match)} → {rule.survey}{language}"
        f" · delay {format_duration(rule.delay)} · window {window}"
        f" · sample {rule.sample:g}% · quarantine {quarantine}"
    )
    if rule.expiry_hours is not None:
        line += f" · expiry {rule.expiry_hours:g}h"
    if rule.reminder_after_hours is not None:
        line += f" · reminder after {rule.reminder_after_hours:g}h"
    if rule.deliver == "helpdesk_reply":
        line += " · link in the help desk's reply"
    return line


def rules_text(rules: RuleSet, *, path: Path | None, error: str | None) -> str:
    """Every rule in order (the first match wins), with the file and any reload error."""
    if path is None:
        return NO_RULES_FILE
    lines = [f"Rules from {path} (first match wins):"]
    lines.extend(rule_line(rule) for rule in rules.rules)
    if not rules.rules:
        lines.append("no rules yet: every event is suppressed (no_rule)")
    if error is not None:
        lines.append(f"⚠ the file has an error, the rules above are the last good ones: {error}")
    return "\n".join(lines)


def _decision_line(found: CaseDecision) -> str:
    decision = found.decision
    head = f"• {stamp(decision.created_at)} · {decision.source} · {decision.event_type}"
    if decision.outcome != DecisionOutcome.REJECTED:  # a refused event met no rule at all
        head += f" · rule {decision.rule_id}" if decision.rule_id else " · no rule"
    detail = decision.detail
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    if decision.outcome == DecisionOutcome.SCHEDULED:
        when = f" for {stamp(decision.send_at)}" if decision.send_at else ""
        outcome = f"scheduled{when}"
    elif decision.outcome == DecisionOutcome.REJECTED:
        outcome = f"refused, no survey ({decision.reason}): {detail}"
    else:
        outcome = f"suppressed ({decision.reason}): {detail}"
    if decision.invitation_id is not None:
        status = found.invitation_status or "gone"
        outcome += f" · invitation {decision.invitation_id} ({status})"
    return f"{head} · {outcome}"


def why_text(
    case_id: str, decisions: list[CaseDecision], writes: Sequence[TicketWrite] = ()
) -> str:
    """Every decision about `case_id`, newest first, and the answers written back to it, as
    `/why CASE` answers."""
    if not decisions and not writes:
        return f"no event for case {case_id} was received"
    lines = [f"Case {case_id}: {len(decisions)} event(s), newest first"]
    lines.extend(_decision_line(found) for found in decisions[:MAX_DECISIONS])
    if len(decisions) > MAX_DECISIONS:
        lines.append(f"… and {len(decisions) - MAX_DECISIONS} older")
    if writes:
        lines.append("Answers written back to the case:")
        lines.extend(_write_line(write) for write in writes[-MAX_DECISIONS:])
    return "\n".join(lines)


def _write_line(write: TicketWrite) -> str:
    written = (
        "the survey's link as the reply"
        if write.question_id == REPLY_QUESTION
        else f"answer {write.question_id}"
    )
    what = f"{write.helpdesk} · {written} (invitation {write.invitation_id})"
    if write.status == TicketWriteStatus.WRITTEN and write.written_at is not None:
        return f"✅ {what}: written {stamp(write.written_at)}"
    if write.status == TicketWriteStatus.FAILED:
        return f"❌ {what}: failed for good: {_clip(write.error or 'unknown')}"
    tried = f", {write.attempts} tries so far: {_clip(write.error)}" if write.error else ""
    return f"⏳ {what}: {write.status}{tried}"


def _clip(detail: str | None) -> str:
    found = detail or ""
    return found if len(found) <= MAX_DETAIL else found[: MAX_DETAIL - 1] + "…"
