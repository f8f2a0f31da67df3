"""Customer text made safe for Slack's mrkdwn ``text`` fields."""

from __future__ import annotations


def escaped(text: str) -> str:
    """Text for a Slack ``text`` field: &, < and > escaped, so that a customer's comment
    cannot turn into a link or a mention (Slack reads <...> as either: ``<!channel>``,
    ``<@U123>``, ``<https://x|click>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
