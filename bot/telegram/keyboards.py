"""Renders a channel-neutral Prompt as Telegram message text and an inline keyboard."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.telegram.callbacks import SKIP_VALUE, SurveyButton
from surveys.conversation import Prompt
from surveys.messages import Message, message

# Telegram shows at most 8 buttons a row; wider scales (NPS 0-10) split into two even rows.
MAX_ROW = 8


def prompt_text(prompt: Prompt) -> str:
    return f"{prompt.text}\n\n{prompt.hint}" if prompt.hint else prompt.text


def answered_text(prompt: Prompt, answer: str | None) -> str:
    return f"{prompt.text}\n\n{answer}" if answer else prompt.text


def prompt_markup(invitation_id: int, prompt: Prompt) -> InlineKeyboardMarkup | None:
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
        builder.adjust(1)  # captions and option labels need the full width
    elif count > MAX_ROW:
        builder.adjust((count + 1) // 2)
    elif count:
        builder.adjust(count)
    if prompt.skippable:
        skip = SurveyButton(invitation=invitation_id, question=prompt.question_id, value=SKIP_VALUE)
        builder.row(
            InlineKeyboardButton(
                text=message(Message.SKIP_BUTTON, prompt.language), callback_data=skip.pack()
            )
        )
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None
