"""Who a survey is for when their chat is not known: what a help desk knows of them."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from surveys.fields import NoControl

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_REQUESTER = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}:\S{1,128}")


class PersonRef(BaseModel):
    """The ``person`` of an invitation or event: what a help desk knows of the customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[str, NoControl] | None = Field(None, max_length=254)
    requester: Annotated[str, NoControl] | None = Field(None, max_length=161)

    @field_validator("email")
    @classmethod
    def _an_email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL_PATTERN.fullmatch(value):
            raise ValueError(f"not an email address: {value!r}")
        return value

    @field_validator("requester", mode="before")
    @classmethod
    def _a_requester(cls, value: Any) -> Any:
        if isinstance(value, str) and not _REQUESTER.fullmatch(value.strip()):
            raise ValueError(
                "give the help desk and its requester id as <help desk>:<id>, e.g. zendesk:12345"
            )
        return value

    @model_validator(mode="after")
    def _something(self) -> PersonRef:
        if self.email is None and self.requester is None:
            raise ValueError("give the person's email or requester (or both)")
        return self


def chat_or_person(recipient: str | None, info: ValidationInfo) -> str | None:
    """A ``recipient`` validator for a model with a ``person`` field declared before it: one
    of the two is needed (an invitation or event for nobody is refused)."""
    if recipient is None and info.data.get("person") is None:
        raise ValueError("Field required: the chat, or else the person (email, requester)")
    return recipient
