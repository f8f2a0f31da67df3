"""The bot's UI strings: complete in every language, same placeholders, right letters."""

from __future__ import annotations

from string import Formatter

import pytest

from surveys import SUPPORTED_LANGUAGES, Message, message
from surveys.messages import _CATALOG


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


@pytest.mark.parametrize("key", list(Message))
def test_every_message_exists_in_every_language_with_the_same_placeholders(key: Message) -> None:
    texts = _CATALOG[key]
    assert set(texts) == set(SUPPORTED_LANGUAGES)
    assert all(text.strip() for text in texts.values())
    assert {language: placeholders(text) for language, text in texts.items()} == {
        language: placeholders(texts["en"]) for language in texts
    }


def test_values_are_filled_in() -> None:
    assert message(Message.CHOSEN, "en", value="7") == "Your answer: 7"
    assert message(Message.REJECT_TAP_SCALE, "pl", low=0, high=10) == (
        "Wybierz liczbę od 0 do 10 za pomocą przycisków powyżej."
    )


def test_unknown_languages_fall_back_to_english() -> None:
    assert message(Message.SKIP_BUTTON, "de") == "Skip"
    assert message(Message.SKIP_BUTTON, "pl-PL") == "Pomiń"
    assert message(Message.SKIP_BUTTON, "ro") == "Sari peste"


def test_english_wording() -> None:
    assert message(Message.HELP, "en") == (
        "Hi! I'm the feedback bot of our support team. There is no survey waiting for you "
        "right now: when your support case is closed, I'll ask you a couple of quick "
        "questions here."
    )
    assert message(Message.SCALE_HINT, "en", low=1, low_label="Bad", high=5, high_label="Good") == (
        "1 = Bad, 5 = Good"
    )


def test_polish_and_romanian_letters() -> None:
    polish = " ".join(texts["pl"] for texts in _CATALOG.values())
    romanian = " ".join(texts["ro"] for texts in _CATALOG.values())
    assert set("ąćęłńóśźż") <= set(polish.lower())
    assert set("ăâîșț") <= set(romanian.lower())
    assert not set("şţŞŢ") & set(romanian)
