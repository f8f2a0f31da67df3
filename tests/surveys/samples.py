"""Surveys written for the tests: one that uses every feature the templates leave out."""

from __future__ import annotations

from surveys import Survey, builtin_surveys, parse_survey

# A choice, a required comment gated on a low rating, an optional scale, and a
# comment gated on that optional scale (so skipping it must skip the comment too).
ONBOARDING_YAML = """\
id: onboarding
name: {en: Onboarding, pl: Wdrożenie}
languages: [en, pl]
default_language: en
expiry_hours: 24
questions:
  - id: rating
    kind: csat
    text: {en: "How was your onboarding?", pl: "Jak oceniasz wdrożenie?"}
    labels:
      1: {en: Awful, pl: Okropnie}
      5: {en: Great, pl: Świetnie}
  - id: channel
    kind: choice
    text: {en: "How did you reach us?", pl: "Jak się z nami kontaktujesz?"}
    options:
      - id: chat
        label: {en: Chat, pl: Czat}
      - id: phone
        label: {en: Phone, pl: Telefon}
      - id: email
        label: {en: E-mail, pl: E-mail}
  - id: fix
    kind: text
    optional: false
    when: {question: rating, bands: [dissatisfied, neutral]}
    text: {en: "What should we fix first?", pl: "Co mamy poprawić w pierwszej kolejności?"}
  - id: effort
    kind: ces
    optional: true
    text: {en: "How easy was the setup?", pl: "Jak łatwa była konfiguracja?"}
  - id: praise
    kind: text
    when: {question: effort, bands: [easy]}
    text: {en: "What made it easy?", pl: "Co było najłatwiejsze?"}
thanks: {en: Thanks!, pl: Dzięki!}
thanks_by_band:
  dissatisfied: {en: Sorry about that., pl: Przykro nam.}
"""


def onboarding() -> Survey:
    return parse_survey(ONBOARDING_YAML, "onboarding.yaml")


def all_surveys() -> list[Survey]:
    """Every template plus the onboarding sample."""
    return [*builtin_surveys().values(), onboarding()]
