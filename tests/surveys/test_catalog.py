"""Loading survey YAML: precise errors for authors, custom directories, the catalog."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from surveys import (
    Catalog,
    InvalidSurveyDefinition,
    Message,
    UnknownSurvey,
    builtin_surveys,
    load_survey_file,
    message,
    parse_survey,
)
from surveys.messages import speaks

# Line numbers below are those of this text; keep it in step with the assertions.
VALID = """\
id: pulse
name:
  en: Pulse
  pl: Puls
languages: [en, pl]
default_language: en
questions:
  - id: score
    kind: nps
    text:
      en: Would you recommend us?
      pl: Czy polecisz nas?
    labels:
      0: {en: No way, pl: Nie}
      10: {en: Sure, pl: Tak}
  - id: why
    kind: text
    text:
      en: Why?
      pl: Dlaczego?
thanks:
  en: Thanks!
  pl: Dzięki!
"""


def error_for(text: str) -> InvalidSurveyDefinition:
    with pytest.raises(InvalidSurveyDefinition) as caught:
        parse_survey(text, "pulse.yaml")
    return caught.value


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing `needle`."""
    found = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) == 1, found
    return found[0]


def test_the_valid_sample_parses() -> None:
    survey = parse_survey(VALID, "pulse.yaml")
    assert survey.id == "pulse"
    assert survey.question("why").skippable
    assert survey.expiry_hours == 72


def test_broken_yaml_syntax_points_at_its_line() -> None:
    text = VALID.replace("    kind: text", "    kind: text: yes")
    error = error_for(text)
    assert (error.source, error.line) == ("pulse.yaml", 17)
    assert error.message.startswith("invalid YAML: ")
    assert str(error).startswith("pulse.yaml:17: invalid YAML: ")


def test_unclosed_flow_list_is_a_syntax_error() -> None:
    error = error_for(VALID.replace("[en, pl]", "[en, pl"))
    assert error.line == 6  # where the parser noticed; the message names the opening line
    assert error.message == (
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence on line 5)"
    )


def test_unknown_field_names_its_path_and_line() -> None:
    text = VALID.replace("    kind: text\n", "    kind: text\n    colour: red\n")
    error = error_for(text)
    assert error.line == line_of(text, "colour") == 18
    assert error.message == "questions[1].colour: Extra inputs are not permitted"


def test_wrong_kind_names_its_path_and_line() -> None:
    error = error_for(VALID.replace("kind: text", "kind: txt"))
    assert error.line == 17
    assert error.message == (
        "questions[1].kind: Input should be 'nps', 'csat', 'ces', 'choice' or 'text'"
    )
    assert str(error) == f"pulse.yaml:17: {error.message}"


def test_missing_language_text_names_the_text_and_the_language() -> None:
    error = error_for(VALID.replace("      pl: Dlaczego?\n", ""))
    assert error.line == 18  # the `text:` line of questions[1]
    assert error.message == "questions[1].text: missing the 'pl' text"


def test_blank_text_counts_as_missing() -> None:
    error = error_for(VALID.replace("pl: Dzięki!", "pl: '  '"))
    assert (error.line, error.message) == (21, "thanks: missing the 'pl' text")


def test_missing_label_translation_points_at_the_label() -> None:
    error = error_for(VALID.replace("{en: Sure, pl: Tak}", "{en: Sure}"))
    assert (error.line, error.message) == (15, "questions[0].labels[10]: missing the 'pl' text")


def test_missing_field_points_at_the_parent_mapping() -> None:
    text = VALID.replace("    text:\n      en: Why?", "    txt:\n      en: Why?")
    error = error_for(text)
    assert error.line == line_of(text, "- id: why") == 16
    assert error.message.startswith("questions[1]")
    # Two problems here (a missing field and an unknown one): the first in the file wins.
    assert error.message in {
        "questions[1].text: Field required",
        "questions[1].txt: Extra inputs are not permitted",
    }


def test_missing_top_level_field_points_at_the_document() -> None:
    error = error_for(VALID.replace("thanks:\n  en: Thanks!\n  pl: Dzięki!\n", ""))
    assert (error.line, error.message) == (1, "thanks: Field required")


def test_when_on_a_later_question_is_refused() -> None:
    text = VALID.replace(
        "    kind: nps\n", "    kind: nps\n    when: {question: why, bands: [promoter]}\n"
    )
    error = error_for(text)
    assert error.line == line_of(text, "when:") == 10
    assert error.message == "questions[0].when.question: 'why' is not an earlier question"


def test_when_with_a_band_of_another_scale_is_refused() -> None:
    text = VALID.replace(
        "    kind: text\n",
        "    kind: text\n    when:\n      question: score\n      bands: [detractor, easy]\n",
    )
    error = error_for(text)
    assert error.line == line_of(text, "bands:") == 20
    assert error.message == (
        "questions[1].when.bands[1]: 'easy' is not one of the nps bands "
        "(promoter, passive, detractor)"
    )


def test_when_on_a_text_question_is_refused() -> None:
    text = VALID.replace(
        "thanks:\n",
        "  - id: more\n"
        "    kind: text\n"
        "    text: {en: More, pl: Jeszcze}\n"
        "    when: {question: why, bands: [promoter]}\n"
        "thanks:\n",
    )
    error = error_for(text)
    assert error.line == line_of(text, "when: {question: why")
    assert error.message == "questions[2].when.question: 'why' is a text question, not a scale"


def test_label_outside_the_scale_is_refused() -> None:
    error = error_for(VALID.replace("      10: {", "      11: {"))
    assert (error.line, error.message) == (
        15,
        "questions[0].labels[11]: 11 is outside the nps scale 0..10",
    )


def test_a_language_must_be_a_language_code_and_texts_in_the_surveys_languages() -> None:
    error = error_for(VALID.replace("[en, pl]", "[en, pl, German]"))
    assert (error.line, error.message) == (
        5,
        "languages[2]: 'German' is not a language code; use a lower-case ISO 639 code such "
        "as en, de, uk or es",
    )
    # A typo in a text's language is caught: it is not one the survey lists.
    error = error_for(VALID.replace("  pl: Dlaczego?", "  pll: Dlaczego?"))
    assert error.message.startswith("questions[1].text")
    assert "'pll' is not one of the survey's languages (en, pl)" in error.message


GERMAN = """\
id: puls
name: {de: Puls, uk: Пульс}
languages: [de, uk]
default_language: de
questions:
  - id: score
    kind: csat
    text: {de: "Wie zufrieden waren Sie?", uk: "Наскільки ви задоволені?"}
  - id: why
    kind: text
    optional: true
    text: {de: "Warum?", uk: "Чому?"}
thanks: {de: Danke!, uk: Дякуємо!}
messages:
  skip_button: {de: Überspringen, uk: Пропустити}
  chosen: {de: "Ihre Antwort: {value}"}
"""


def test_a_survey_in_any_language_gives_cxbots_messages_or_gets_english(
    tmp_path: Path,
) -> None:
    (tmp_path / "puls.yaml").write_text(GERMAN, encoding="utf-8")
    catalog = Catalog.load(tmp_path)
    try:
        assert catalog.get("puls").languages == ["de", "uk"]
        assert message(Message.SKIP_BUTTON, "de") == "Überspringen"
        assert message(Message.SKIP_BUTTON, "uk-UA") == "Пропустити"
        assert message(Message.CHOSEN, "de", value=4) == "Ihre Antwort: 4"
        assert message(Message.CHOSEN, "uk", value=4) == "Your answer: 4"  # not given
        assert message(Message.SKIP_BUTTON, "es") == "Skip"
        assert speaks("de") and speaks("pl") and not speaks("es")
    finally:
        Catalog.load(None)
    assert message(Message.SKIP_BUTTON, "de") == "Skip"  # the next load replaces them
    assert not speaks("de")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ("skip_button: {de:", "skip_butt: {de:"),
            "messages.skip_butt.de: 'skip_butt' is not one of cxbot's messages",
        ),
        (
            ('chosen: {de: "Ihre Antwort: {value}"}', 'chosen: {de: "Antwort: {wert}"}'),
            "messages.chosen.de: {wert} cannot be filled in here (this message has {value})",
        ),
        (
            ('chosen: {de: "Ihre', 'chosen: {pl: "Ihre'),
            "messages.chosen.pl: cxbot has its own 'pl' messages",
        ),
        (
            ('chosen: {de: "Ihre', 'chosen: {es: "Ihre'),
            "messages.chosen.es: 'es' is not one of the survey's languages",
        ),
    ],
)
def test_bad_messages_are_refused_with_their_place(change: tuple[str, str], problem: str) -> None:
    with pytest.raises(InvalidSurveyDefinition) as caught:
        parse_survey(GERMAN.replace(*change), "puls.yaml")
    assert caught.value.message.startswith(problem)
    assert caught.value.line in (15, 16)  # the line of the message at fault


def test_two_surveys_giving_one_message_differently_are_refused(tmp_path: Path) -> None:
    (tmp_path / "puls.yaml").write_text(GERMAN, encoding="utf-8")
    other = GERMAN.replace("id: puls", "id: puls2").replace("Überspringen", "Weiter")
    (tmp_path / "puls2.yaml").write_text(other, encoding="utf-8")
    with pytest.raises(InvalidSurveyDefinition, match="gives skip_button in 'de' differently"):
        Catalog.load(tmp_path)


def test_default_language_must_be_one_of_the_languages() -> None:
    error = error_for(VALID.replace("default_language: en", "default_language: ro"))
    assert (error.line, error.message) == (
        6,
        "default_language: 'ro' is not one of the survey's languages",
    )


def test_band_that_does_not_fit_the_survey_is_refused() -> None:
    text = VALID + "thanks_by_band:\n  easy: {en: Easy, pl: Łatwo}\n"
    error = error_for(text)
    assert (error.line, error.message) == (
        25,
        "thanks_by_band.easy: 'easy' does not fit the nps scale",
    )


def test_duplicate_question_ids_are_refused() -> None:
    error = error_for(VALID.replace("- id: why", "- id: score"))
    assert (error.line, error.message) == (16, "questions[1].id: duplicate question id 'score'")


def test_duplicate_yaml_keys_are_refused() -> None:
    error = error_for(VALID.replace("default_language: en\n", "default_language: en\nid: other\n"))
    assert (error.line, error.message) == (7, "duplicate key 'id'")


def test_question_id_must_fit_in_callback_data() -> None:
    error = error_for(VALID.replace("- id: why", "- id: why_is_this_id_far_too_long"))
    assert error.line == 16
    assert error.message.startswith("questions[1].id: String should match pattern")


def test_empty_file_and_non_mapping_are_refused() -> None:
    assert str(error_for("")) == "pulse.yaml: the file is empty"
    assert str(error_for("- a\n- b\n")) == "pulse.yaml:1: a survey must be a mapping of fields"


def test_errors_survive_pickling() -> None:
    error = error_for(VALID.replace("kind: text", "kind: txt"))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.source, copy.line, copy.message, str(copy)) == (
        error.source,
        error.line,
        error.message,
        str(error),
    )


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_survey_file_names_the_file_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", VALID.replace("kind: text", "kind: txt"))
    with pytest.raises(InvalidSurveyDefinition) as caught:
        load_survey_file(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}:17: ")


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(VALID.replace("Dzięki", "Dzi\xeaki").encode("latin-1", "replace"))
    with pytest.raises(InvalidSurveyDefinition, match="not UTF-8"):
        load_survey_file(path)


def test_catalog_without_a_directory_has_the_builtins() -> None:
    catalog = Catalog.load(None)
    assert catalog.ids() == ["ces", "csat", "nps"]
    assert "nps" in catalog and "pulse" not in catalog
    assert [survey.id for survey in catalog] == ["ces", "csat", "nps"]
    assert catalog.get("nps") == builtin_surveys()["nps"]


def test_custom_directory_adds_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, "pulse.yml", VALID)
    write(tmp_path, "my-nps.yaml", VALID.replace("id: pulse", "id: nps"))
    write(tmp_path, "notes.txt", "not a survey")
    catalog = Catalog.load(tmp_path)
    assert catalog.ids() == ["ces", "csat", "nps", "pulse"]
    assert catalog.get("nps").name == {"en": "Pulse", "pl": "Puls"}
    assert catalog.get("csat") == builtin_surveys()["csat"]


def test_two_custom_files_with_one_id_name_the_second(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID)
    second = write(tmp_path, "b.yaml", VALID)
    with pytest.raises(InvalidSurveyDefinition) as caught:
        Catalog.load(tmp_path)
    assert caught.value.source == str(second)
    assert caught.value.line == 1
    assert caught.value.message == f"id: survey 'pulse' is already defined in {tmp_path / 'a.yaml'}"


def test_a_broken_custom_file_stops_loading(tmp_path: Path) -> None:
    write(tmp_path, "pulse.yaml", VALID.replace("kind: text", "kind: txt"))
    with pytest.raises(InvalidSurveyDefinition, match=r"pulse\.yaml:17: questions\[1\]\.kind"):
        Catalog.load(tmp_path)


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(InvalidSurveyDefinition) as caught:
        Catalog.load(missing)
    assert (caught.value.source, caught.value.line) == (str(missing), None)


def test_unknown_survey_lists_the_known_ones() -> None:
    catalog = Catalog(builtin_surveys())
    with pytest.raises(UnknownSurvey) as caught:
        catalog.get("foo")
    assert caught.value.survey_id == "foo"
    assert list(caught.value.known) == ["ces", "csat", "nps"]
    assert str(caught.value) == "unknown survey 'foo'; known surveys: ces, csat, nps"
    assert str(UnknownSurvey("foo", [])) == "unknown survey 'foo'; known surveys: none"
