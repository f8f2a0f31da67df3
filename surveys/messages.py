"""The bot's own words around a survey (buttons, hints, refusals) in every supported language."""

from __future__ import annotations

from enum import StrEnum

from surveys.definitions import Texts, base_language

__all__ = ["Message", "message"]

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
    HELPDESK_REPLY = "helpdesk_reply"
    ANSWER_KEPT = "answer_kept"


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
        "pl": "Napisz odpowiedź w wiadomości albo naciśnij „Pomiń”.",
        "ro": "Scrie răspunsul într-un mesaj sau apasă „Sari peste”.",
    },
    Message.TEXT_HINT: {
        "en": "Type your answer in a message.",
        "pl": "Napisz odpowiedź w wiadomości.",
        "ro": "Scrie răspunsul într-un mesaj.",
    },
    Message.STALE: {
        "en": "This question has already been answered.",
        "pl": "To pytanie ma już odpowiedź.",
        "ro": "Această întrebare are deja un răspuns.",
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
        "pl": "Dziękuję! Nie udało mi się teraz zapisać Twojej odpowiedzi; zachowuję ją i za "
        "chwilę spróbuję ponownie. Nie musisz naciskać jeszcze raz.",
        "ro": "Mulțumesc! Nu am putut salva răspunsul tău chiar acum; îl păstrez și încerc din "
        "nou în câteva momente. Nu e nevoie să apeși din nou.",
    },
    Message.BAD_BUTTON: {
        "en": "Sorry, I couldn't read that button.",
        "pl": "Przepraszam, nie udało mi się odczytać tego przycisku.",
        "ro": "Îmi pare rău, nu am putut citi acest buton.",
    },
    Message.HELP: {
        "en": "Hi! I'm the feedback bot of our support team. There is no survey waiting for "
        "you right now: when your support case is closed, I'll ask you a couple of quick "
        "questions here.",
        "pl": "Cześć! Jestem botem, który zbiera opinie dla naszego zespołu wsparcia. Teraz "
        "nie czeka na Ciebie żadna ankieta: gdy Twoje zgłoszenie zostanie zamknięte, zadam "
        "Ci tutaj kilka krótkich pytań.",
        "ro": "Bună! Sunt botul de feedback al echipei noastre de suport. Momentan nu te "
        "așteaptă niciun sondaj: când solicitarea ta va fi închisă, îți voi pune aici câteva "
        "întrebări scurte.",
    },
    Message.ALREADY_DONE: {
        "en": "You've already completed this survey. Thank you!",
        "pl": "Ta ankieta jest już wypełniona. Dziękujemy!",
        "ro": "Ai completat deja acest sondaj. Îți mulțumim!",
    },
    Message.REJECT_TAP_SCALE: {
        "en": "Please choose a number from {low} to {high} with the buttons above.",
        "pl": "Wybierz liczbę od {low} do {high}, korzystając z przycisków powyżej.",
        "ro": "Te rog să alegi un număr de la {low} la {high} folosind butoanele de mai sus.",
    },
    Message.REJECT_UNKNOWN_OPTION: {
        "en": "Please choose one of the options with the buttons above.",
        "pl": "Wybierz jedną z opcji, korzystając z przycisków powyżej.",
        "ro": "Te rog să alegi una dintre opțiuni folosind butoanele de mai sus.",
    },
    Message.REJECT_EMPTY: {
        "en": "Please type a few words, or tap Skip.",
        "pl": "Napisz kilka słów albo naciśnij „Pomiń”.",
        "ro": "Te rog să scrii câteva cuvinte sau apasă „Sari peste”.",
    },
    Message.REJECT_EMPTY_REQUIRED: {
        "en": "Please type a few words.",
        "pl": "Napisz, proszę, kilka słów.",
        "ro": "Te rog să scrii câteva cuvinte.",
    },
    Message.REJECT_TOO_LONG: {
        "en": "That message is too long: please keep it under {limit} characters.",
        "pl": "Ta wiadomość jest za długa: może mieć najwyżej {limit} znaków.",
        "ro": "Mesajul este prea lung: te rog să nu depășești {limit} de caractere.",
    },
    Message.REJECT_NOT_SKIPPABLE: {
        "en": "This question needs an answer.",
        "pl": "To pytanie wymaga odpowiedzi.",
        "ro": "Această întrebare necesită un răspuns.",
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
        "pl": "Przypominamy: wciąż chętnie poznamy Twoją opinię.",
        "ro": "Un mic memento: ne-ar plăcea în continuare să aflăm părerea ta.",
    },
    Message.LINK_TAKEN: {
        "en": "This survey link has already been used from another Telegram account, so it "
        "can't be answered here. Thank you all the same!",
        "pl": "Ten link do ankiety został już użyty na innym koncie Telegram, więc nie można "
        "na nią tutaj odpowiedzieć. Mimo to dziękujemy!",
        "ro": "Acest link de sondaj a fost deja folosit de pe alt cont de Telegram, așa că nu "
        "se poate răspunde aici. Îți mulțumim oricum!",
    },
    Message.LINK_UNKNOWN: {
        "en": "Sorry, this survey link isn't valid. Please check that you opened the whole "
        "link you were sent.",
        "pl": "Przepraszamy, ten link do ankiety jest nieprawidłowy. Sprawdź, czy otwierasz "
        "cały otrzymany link.",
        "ro": "Ne pare rău, acest link de sondaj nu este valid. Verifică dacă ai deschis "
        "linkul complet primit.",
    },
    # Said to someone who taps a survey posted in a shared channel for another person.
    Message.FOR_SOMEONE: {
        "en": "This survey is for {who}: only their answers count.",
        "pl": "Ta ankieta jest dla {who}: liczą się tylko odpowiedzi tej osoby.",
        "ro": "Acest sondaj este pentru {who}: contează doar răspunsurile acestei persoane.",
    },
    # What everyone in a channel sees once a question there is answered (the answer is private).
    Message.ANSWERED: {
        "en": "Answered. Thank you!",
        "pl": "Odpowiedź zapisana. Dziękujemy!",
        "ro": "Răspuns înregistrat. Îți mulțumim!",
    },
    Message.CANCEL: {"en": "Cancel", "pl": "Anuluj", "ro": "Anulează"},
    # The help desk's reply that carries a survey's link (rules with deliver: helpdesk_reply).
    Message.HELPDESK_REPLY: {
        "en": "Thank you for contacting us! How did we do? Tell us in Telegram, it takes a "
        "few seconds: {link}",
        "pl": "Dziękujemy za kontakt! Jak nam poszło? Powiedz nam w Telegramie, to zajmie "
        "kilka sekund: {link}",
        "ro": "Îți mulțumim că ne-ai contactat! Cum ne-am descurcat? Spune-ne pe Telegram, "
        "durează câteva secunde: {link}",
    },
}


def message(key: Message, language: str, **values: object) -> str:
    """The text for `key` in `language` ("pl-PL" counts as "pl"), else in English."""
    texts = _CATALOG[key]
    template = texts.get(base_language(language)) or texts[FALLBACK_LANGUAGE]
    return template.format(**values)
