"""The inline keyboards of every built-in survey's questions, in every language: the layout
aiogram's InlineKeyboardBuilder gives (scales in one row or two even ones, choices one a row,
Skip last), with the callback data the survey buttons read back."""

from __future__ import annotations

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.telegram.callbacks import SKIP_VALUE, SurveyButton
from bot.telegram.keyboards import MAX_ROW, prompt_markup
from surveys.catalog import Catalog
from surveys.conversation import Prompt
from surveys.messages import Message, message
from surveys.prompts import prompt_for


def built(invitation_id: int, prompt: Prompt) -> InlineKeyboardMarkup | None:
    """The keyboard as aiogram's builder lays it out (what cxbot sent before)."""
    builder = InlineKeyboardBuilder()
    labelled = bool(prompt.choices) and all(c.caption for c in prompt.choices)
    for choice in prompt.choices:
        text = f"{choice.label} · {choice.caption}" if labelled else choice.label
        data = SurveyButton(
            invitation=invitation_id, question=prompt.question_id, value=choice.value
        )
        builder.button(text=text, callback_data=data.pack())
    count = len(prompt.choices)
    if labelled or (count and not prompt.kind.is_scale):
        builder.adjust(1)
    elif count > MAX_ROW:
        builder.adjust((count + 1) // 2)
    elif count:
        builder.adjust(count)
    if prompt.skippable:
        skip = SurveyButton(invitation=invitation_id, question=prompt.question_id, value=SKIP_VALUE)
        text = message(Message.SKIP_BUTTON, prompt.language)
        builder.row(InlineKeyboardButton(text=text, callback_data=skip.pack()))
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def every_prompt() -> list[Prompt]:
    catalog = Catalog.load(None)
    prompts = []
    for survey_id in catalog.ids():
        survey = catalog.get(survey_id)
        for language in catalog.languages()[survey_id]:
            prompts += [prompt_for(survey, q.id, language) for q in survey.questions]
    return prompts


@pytest.mark.parametrize("prompt", every_prompt(), ids=lambda p: f"{p.question_id}-{p.language}")
def test_each_question_gets_the_builders_keyboard(prompt: Prompt) -> None:
    assert prompt_markup(123456, prompt) == built(123456, prompt)


def test_an_nps_scale_is_two_even_rows_and_its_buttons_read_back() -> None:
    catalog = Catalog.load(None)
    survey = catalog.get("nps")
    markup = prompt_markup(77, prompt_for(survey, survey.questions[0].id, "en"))
    assert markup is not None
    rows = markup.inline_keyboard
    assert [len(row) for row in rows] == [6, 5]
    tapped = SurveyButton.unpack(str(rows[1][4].callback_data))
    assert (tapped.invitation, tapped.question, tapped.value) == (77, "score", "10")
