"""Reading a Slack invitation's recipient, and the address stored for it."""

from __future__ import annotations

import pytest

from bot.errors import InvalidRecipient
from bot.slack.address import Place, SlackAddress, channel_place
from bot.slack.modal import CommentTarget

THREAD = "1712345678.123456"


@pytest.mark.parametrize(
    ("recipient", "place"),
    [
        ("U012AB3CD", None),  # a person: their DM
        ("ana@example.test", None),
        ("C012AB3CD", Place("C012AB3CD", None)),
        ("G012AB3CD", Place("G012AB3CD", None)),
        (f"C012AB3CD/{THREAD}", Place("C012AB3CD", THREAD)),
        (
            "https://acme.slack.com/archives/C012AB3CD/p1712345678123456",
            Place("C012AB3CD", THREAD),
        ),
        (  # a reply's link: the thread is its parent's
            "https://acme.enterprise.slack.com/archives/C012AB3CD/p1712349999000100"
            f"?thread_ts={THREAD}&cid=C012AB3CD",
            Place("C012AB3CD", THREAD),
        ),
    ],
)
def test_recipient_names_a_dm_or_a_channel_place(recipient: str, place: Place | None) -> None:
    assert channel_place(recipient) == place


@pytest.mark.parametrize(
    ("recipient", "said"),
    [
        ("C012AB3CD/12.5", "thread_ts"),
        ("C012AB3CD/", "thread_ts"),
        ("D012AB3CD/1712345678.123456", "must be"),
        ("https://evil.example/archives/C012AB3CD/p1712345678123456", "not a Slack message link"),
        ("https://slack.com.evil.example/archives/C0A/p1712345678123456", "not a Slack"),
        ("https://acme.slack.com/archives/C012AB3CD", "not a Slack message link"),
    ],
)
def test_malformed_channel_forms_are_refused(recipient: str, said: str) -> None:
    with pytest.raises(InvalidRecipient) as refused:
        channel_place(recipient)
    assert said in refused.value.message


@pytest.mark.parametrize(
    ("address", "packed"),
    [
        (SlackAddress("U012AB3CD"), "U012AB3CD"),  # as stored before channels
        (SlackAddress("W012AB3CD", "C0SUPPORT"), "C0SUPPORT:W012AB3CD"),
        (SlackAddress("U012AB3CD", "C0SUPPORT", THREAD), f"C0SUPPORT/{THREAD}:U012AB3CD"),
    ],
)
def test_address_packs_and_parses_back(address: SlackAddress, packed: str) -> None:
    assert address.pack() == packed
    assert SlackAddress.parse(packed) == address


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "[]",
        '{"invitation": "x", "question": "why"}',
        '{"question": "why"}',
        '{"invitation": 99999999999, "question": "why"}',
        '{"invitation": 0, "question": "q"}',
    ],
)
def test_foreign_modal_metadata_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"metadata|no invitation"):
        CommentTarget.unpack(raw)


def test_modal_metadata_round_trips() -> None:
    target = CommentTarget(7, "why", "C0SUPPORT", THREAD)
    assert CommentTarget.unpack(target.pack()) == target
