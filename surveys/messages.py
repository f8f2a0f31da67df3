"""The bot's own words around a survey (buttons, hints, refusals) in every supported language.

cxbot ships them in English, Polish and Romanian. A survey in another language may give them
in its file (`messages:`); `install_survey_messages` makes those the texts of that language
for the whole process (the catalog does it as it loads). Any message not given is English.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

from surveys.definitions import Texts, base_language

if TYPE_CHECKING:
    from surveys.definitions import Survey

__all__ = [
    "Message",
    "check_message",
    "install_survey_messages",
    "message",
    "speaks",
]

FALLBACK_LANGUAGE = "en"


class Message(StrEnum):
    SKIP_BUTTON = "skip_button"
    ADD_COMMENT_BUTTON = "add_comment_button"
    CHOSEN = "chosen"
    COMMENT_HINT = "comment_hint"
    TEXT_HINT = "text_hint"
    STALE = "stale"
    CLOSED = "closed"
    NOT_YOURS = "not_yours"
    BAD_BUTTON = "bad_button"
    HELP = "help"
    ALREADY_DONE = "already_done"
    REJECT_TAP_SCALE = "reject_tap_scale"
    REJECT_UNKNOWN_OPTION = "reject_unknown_option"
    REJECT_EMPTY = "reject_empty"
    REJECT_EMPTY_REQUIRED = "reject_empty_required"
    REJECT_TOO_LONG = "reject_too_long"
    REJECT_NOT_SKIPPABLE = "reject_not_skippable"
    SCALE_HINT = "scale_hint"
    COMMENT_MODAL_TITLE = "comment_modal_title"
    SUBMIT = "submit"
    REMINDER = "reminder"
    LINK_TAKEN = "link_taken"
    LINK_UNKNOWN = "link_unknown"
    FOR_SOMEONE = "for_someone"
    ANSWERED = "answered"
    CANCEL = "cancel"
    COMMENT_FAILED = "comment_failed"
    COMMENT_BOX_FAILED = "comment_box_failed"
    HELPDESK_REPLY = "helpdesk_reply"
    ANSWER_KEPT = "answer_kept"
    DEMO_SUMMARY = "demo_summary"


# Polish addresses the customer as "Ty" (capitalised Twój/Ci/Cię, as in customer mail);
# both languages avoid gendered forms such as "zadowolony/zadowolona" or "mulțumit/mulțumită".
_CATALOG: dict[Message, Texts] = {
    Message.SKIP_BUTTON: {"en": "Skip", "pl": "Pomiń", "ro": "Sari peste"},
    Message.ADD_COMMENT_BUTTON: {
        "en": "Add a comment",
        "pl": "Dodaj komentarz",
        "ro": "Adaugă un comentariu",
    },
    Message.CHOSEN: {
        "en": "Your answer: {value}",
        "pl": "Twoja odpowiedź: {value}",
        "ro": "Răspunsul tău: {value}",
    },
    Message.COMMENT_HINT: {
        "en": "Type your answer in a message, or tap Skip.",
        "pl": "Odpowiedz w wiadomości albo naciśnij „Pomiń”.",
        "ro": "Scrie răspunsul într-un mesaj sau apasă „Sari peste”.",
    },
    Message.TEXT_HINT: {
        "en": "Type your answer in a message.",
        "pl": "Odpowiedz w wiadomości.",
        "ro": "Scrie răspunsul într-un mesaj.",
    },
    Message.STALE: {
        "en": "This question has already been answered.",
        "pl": "Na to pytanie już odpowiedziano.",
        "ro": "Ai răspuns deja la această întrebare.",
    },
    Message.CLOSED: {
        "en": "This survey has closed. Thank you for your time!",
        "pl": "Ta ankieta jest już zamknięta. Dziękujemy za poświęcony czas!",
        "ro": "Acest sondaj s-a încheiat. Îți mulțumim pentru timpul acordat!",
    },
    Message.NOT_YOURS: {
        "en": "This survey is meant for someone else.",
        "pl": "Ta ankieta jest przeznaczona dla kogoś innego.",
        "ro": "Acest sondaj este destinat altcuiva.",
    },
    Message.ANSWER_KEPT: {
        "en": "Thank you! I couldn't save your answer just now; I'm keeping it and will try "
        "again in a moment. No need to tap again.",
        "pl": "Dziękuję! W tej chwili nie udało mi się zapisać Twojej odpowiedzi, ale jej nie "
        "zgubię: za chwilę spróbuję ponownie. Nie musisz naciskać jeszcze raz.",
        "ro": "Îți mulțumesc! Nu am putut salva răspunsul tău chiar acum, dar îl păstrez și "
        "încerc din nou peste câteva clipe. Nu e nevoie să apeși din nou.",
    },
    Message.BAD_BUTTON: {
        "en": "Sorry, I couldn't read that button.",
        "pl": "Przepraszam, nie rozpoznaję tego przycisku.",
        "ro": "Îmi pare rău, nu recunosc acest buton.",
    },
    Message.HELP: {
        "en": "Hi! I'm the feedback bot of our support team. There is no survey waiting for "
        "you right now: when your support case is closed, I'll ask you a couple of quick "
        "questions here.",
        "pl": "Cześć! Zbieram opinie dla naszego zespołu obsługi klienta. W tej chwili nie "
        "czeka na Ciebie żadna ankieta. Gdy Twoje zgłoszenie zostanie zamknięte, zadam Ci "
        "tutaj kilka krótkich pytań.",
        "ro": "Bună! Sunt botul prin care echipa noastră de asistență îți cere părerea. "
        "Momentan nu te așteaptă niciun sondaj. Când solicitarea ta va fi închisă, îți voi "
        "pune aici câteva întrebări scurte.",
    },
    Message.ALREADY_DONE: {
        "en": "You've already completed this survey. Thank you!",
        "pl": "Ta ankieta jest już wypełniona. Dziękujemy!",
        "ro": "Ai completat deja acest sondaj. Îți mulțumim!",
    },
    Message.REJECT_TAP_SCALE: {
        "en": "Please choose a number from {low} to {high} with the buttons above.",
        "pl": "Wybierz liczbę od {low} do {high} za pomocą przycisków powyżej.",
        "ro": "Te rog să alegi un număr de la {low} la {high} folosind butoanele de mai sus.",
    },
    Message.REJECT_UNKNOWN_OPTION: {
        "en": "Please choose one of the options with the buttons above.",
        "pl": "Wybierz jedną z opcji za pomocą przycisków powyżej.",
        "ro": "Te rog să alegi una dintre opțiuni folosind butoanele de mai sus.",
    },
    Message.REJECT_EMPTY: {
        "en": "Please type a few words, or tap Skip.",
        "pl": "Napisz kilka słów albo naciśnij „Pomiń”.",
        "ro": "Te rog să scrii câteva cuvinte sau să apeși „Sari peste”.",
    },
    Message.REJECT_EMPTY_REQUIRED: {
        "en": "Please type a few words.",
        "pl": "Napisz, proszę, kilka słów.",
        "ro": "Te rog să scrii câteva cuvinte.",
    },
    Message.REJECT_TOO_LONG: {
        "en": "That message is too long: please keep it under {limit} characters.",
        "pl": "Ta wiadomość jest za długa. Może mieć najwyżej {limit} znaków.",
        "ro": "Mesajul este prea lung. Te rog să îl scurtezi: numărul maxim de caractere "
        "este {limit}.",
    },
    Message.REJECT_NOT_SKIPPABLE: {
        "en": "This question needs an answer.",
        "pl": "Na to pytanie trzeba odpowiedzieć.",
        "ro": "Te rog să răspunzi la această întrebare.",
    },
    Message.SCALE_HINT: {
        "en": "{low} = {low_label}, {high} = {high_label}",
        "pl": "{low} = {low_label}, {high} = {high_label}",
        "ro": "{low} = {low_label}, {high} = {high_label}",
    },
    Message.COMMENT_MODAL_TITLE: {
        "en": "Your comment",
        "pl": "Twój komentarz",
        "ro": "Comentariul tău",
    },
    Message.SUBMIT: {"en": "Send", "pl": "Wyślij", "ro": "Trimite"},
    Message.REMINDER: {
        "en": "A quick reminder: we would still love to hear what you think.",
        "pl": "Krótkie przypomnienie: nadal chętnie poznamy Twoją opinię.",
        "ro": "Îți reamintim: ne-ar plăcea în continuare să aflăm părerea ta.",
    },
    # Said to an account other than the one the link is for: the first to open it, or the
    # chat the invitation was made out to (which never "used" it), so it speaks of neither.
    Message.LINK_TAKEN: {
        "en": "This survey link belongs to another Telegram account, so it can't be answered "
        "here. If the survey is meant for you, please open the link from that account. "
        "Thank you all the same!",
        "pl": "Ten link do ankiety należy do innego konta Telegrama, więc tutaj nie można na "
        "nią odpowiedzieć. Jeśli ankieta jest dla Ciebie, otwórz link na tamtym koncie. "
        "Mimo to dziękujemy!",
        "ro": "Linkul acestui sondaj aparține altui cont de Telegram, așa că nu poți răspunde "
        "aici. Dacă sondajul îți este destinat, deschide linkul din acel cont. Îți mulțumim "
        "oricum!",
    },
    Message.LINK_UNKNOWN: {
        "en": "Sorry, this survey link isn't valid. Please check that you opened the whole "
        "link you were sent.",
        "pl": "Przepraszamy, ten link do ankiety jest nieprawidłowy. Sprawdź, czy otwierasz "
        "cały link z wiadomości.",
        "ro": "Ne pare rău, linkul acestui sondaj nu este valid. Verifică dacă ai deschis "
        "linkul complet din mesaj.",
    },
    # Said to someone who taps a survey posted in a shared channel for another person.
    Message.FOR_SOMEONE: {
        "en": "This survey is for {who}: only their answers count.",
        # "dla" would need {who} in the genitive; a name in brackets stays in the nominative.
        "pl": "Ta ankieta jest przeznaczona dla innej osoby ({who}). Liczą się tylko jej "
        "odpowiedzi.",
        "ro": "Acest sondaj este pentru {who}: contează doar răspunsurile acestei persoane.",
    },
    # What everyone in a channel sees once a question there is answered (the answer is private).
    Message.ANSWERED: {
        "en": "Answered. Thank you!",
        "pl": "Odpowiedź zapisana. Dziękujemy!",
        "ro": "Răspuns înregistrat. Mulțumim!",
    },
    Message.CANCEL: {"en": "Cancel", "pl": "Anuluj", "ro": "Anulează"},
    # Slack would not open the comment modal (the tap's trigger expired, or Slack failed).
    Message.COMMENT_BOX_FAILED: {
        "en": "Sorry, the comment box didn't open. Please tap “{button}” again.",
        "pl": "Przepraszamy, okno komentarza się nie otworzyło. Naciśnij ponownie „{button}”.",
        "ro": "Ne pare rău, fereastra pentru comentariu nu s-a deschis. Apasă din nou „{button}”.",
    },
    Message.COMMENT_FAILED: {
        "en": "Sorry, your comment could not be saved. Please tap “Add a comment” again.",
        "pl": "Przepraszamy, nie udało się zapisać komentarza. "
        "Naciśnij ponownie „Dodaj komentarz”.",
        "ro": "Ne pare rău, comentariul nu a putut fi salvat. "
        "Apasă din nou „Adaugă un comentariu”.",
    },
    # The help desk's reply that carries a survey's link (rules with deliver: helpdesk_reply).
    Message.HELPDESK_REPLY: {
        "en": "Thank you for contacting us! How did we do? Tell us in Telegram, it takes a "
        "few seconds: {link}",
        "pl": "Dziękujemy za kontakt! Jak oceniasz naszą pomoc? Odpowiedz na Telegramie, "
        "zajmie Ci to kilka sekund: {link}",
        "ro": "Îți mulțumim că ne-ai contactat! Cum ne-am descurcat? Spune-ne pe Telegram, "
        "durează doar câteva secunde: {link}",
    },
    # `cxbot demo`'s last line: the score the answer gives, and where it was stored.
    Message.DEMO_SUMMARY: {
        "en": "{name} from your answer: {value} (n={n}). Saved in {where}.",
        "pl": "{name} z Twojej odpowiedzi: {value} (n={n}). Zapisano w {where}.",
        "ro": "{name} din răspunsul tău: {value} (n={n}). Salvat în {where}.",
    },
}


# Texts from survey files, by language: set as a whole by install_survey_messages.
_FROM_SURVEYS: dict[str, dict[Message, str]] = {}


def message(key: Message, language: str, **values: object) -> str:
    """The text for `key` in `language` ("pl-PL" counts as "pl"), else in English."""
    texts = _CATALOG[key]
    base = base_language(language)
    template = texts.get(base) or _FROM_SURVEYS.get(base, {}).get(key) or texts[FALLBACK_LANGUAGE]
    return template.format(**values)


def speaks(language: str) -> bool:
    """Whether cxbot has its own messages in `language`: shipped, or given by a survey file."""
    base = base_language(language)
    return base in _CATALOG[Message.HELP] or base in _FROM_SURVEYS


def check_message(key: str, text: str) -> str | None:
    """Why `text` cannot be message `key`, or None: an unknown key, an empty text, or a
    {placeholder} the English text does not have (it could never be filled in)."""
    try:
        known = Message(key)
    except ValueError:
        names = ", ".join(sorted(m.value for m in Message))
        return f"{key!r} is not one of cxbot's messages ({names})"
    if not text.strip():
        return "the text is empty"
    allowed = _fields(_CATALOG[known][FALLBACK_LANGUAGE])
    try:
        used = _fields(text)
    except ValueError as error:
        return f"the text is not a valid template: {error}"
    if extra := used - allowed:
        have = ", ".join("{" + name + "}" for name in sorted(allowed)) or "none"
        return f"{{{sorted(extra)[0]}}} cannot be filled in here (this message has {have})"
    return None


def install_survey_messages(surveys: Iterable[Survey]) -> None:
    """Make the messages the surveys give the texts of their languages, replacing any earlier
    ones. Two surveys giving one message in one language differently is an error."""
    found: dict[str, dict[Message, str]] = {}
    for survey in surveys:
        for key, texts in survey.messages.items():
            for language, text in texts.items():
                given = found.setdefault(language, {})
                earlier = given.setdefault(Message(key), text)
                if earlier != text:
                    raise ValueError(
                        f"survey {survey.id!r} gives {key} in {language!r} differently from "
                        "another survey; give it once, or the same in both"
                    )
    _FROM_SURVEYS.clear()
    _FROM_SURVEYS.update(found)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
