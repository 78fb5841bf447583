"""One notation across the glossary and the chapters (ci/notation.py): each rule holds on the committed book,
and each rule rejects a small synthetic notebook that breaks it and accepts one that keeps it."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import notation  # noqa: E402

GLOSSARY = notation.parse_glossary()
CHAPTERS = notation.chapters()


def _notebook(*markdown: str) -> dict:
    return {"cells": [{"cell_type": "markdown", "source": text, "metadata": {}} for text in markdown]}


def test_every_glossary_symbol_is_registered_with_sense_words_its_entry_uses():
    assert notation.check_registered(GLOSSARY) == []


def test_an_unregistered_symbol_or_a_drifted_entry_is_reported():
    glossary = dict(GLOSSARY, ν="The exponent of the pruned learning curve.")
    assert any("'ν'" in p for p in notation.check_registered(glossary))
    drifted = dict(GLOSSARY, N="The number of weights of a model.")
    assert any("'N' does not use any of its sense words" in p for p in notation.check_registered(drifted))


@pytest.mark.parametrize("rule", sorted(notation.CHAPTER_RULES))
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_keeps_the_notation(path, rule):
    nb = json.loads(path.read_text())
    assert notation.CHAPTER_RULES[rule](nb, path.stem, GLOSSARY) == []


def test_a_link_in_a_bare_list_of_terms_is_rejected_and_one_that_says_its_sense_is_accepted():
    bare = _notebook("Recurring terms — {term}`B`, {term}`B_crit` — are in the glossary.")
    problems = notation.check_sense_at_link(bare, "x", GLOSSARY)
    assert len(problems) == 2 and "'B'" in problems[0]
    stated = _notebook("The batch size $B$ ({term}`B`) and the critical batch size ({term}`B_crit`).")
    assert notation.check_sense_at_link(stated, "x", GLOSSARY) == []


def test_the_defining_formula_states_a_sense_too():
    assert notation.check_sense_at_link(_notebook("We fit $L(N) = E + A N^{-\\alpha}$ ({term}`α`)."), "x", GLOSSARY) == []
    wrong = _notebook("At fixed $\\alpha$ ({term}`α`) the error of the student falls.")
    assert notation.check_sense_at_link(wrong, "x", GLOSSARY) != []


def test_a_link_to_no_entry_is_rejected():
    assert "links no glossary entry" in notation.check_sense_at_link(_notebook("a {term}`ν` b"), "x", GLOSSARY)[0]


def test_two_homonyms_and_a_bare_letter_need_a_declaration():
    clash = _notebook("The exponent ({term}`α`) of the power law, and examples per dimension ({term}`α_tot`).",
                      "At fixed $\\alpha$ the error falls.")
    problems = notation.check_one_sense_per_letter(clash, "x", GLOSSARY)
    assert len(problems) == 1 and "bare" in problems[0]
    declared = _notebook("The exponent ({term}`α`) of the power law, and examples per dimension ({term}`α_tot`).",
                         "In this chapter a bare $\\alpha$ means examples per dimension ({term}`α_tot`).",
                         "At fixed $\\alpha$ the error falls.")
    assert notation.check_one_sense_per_letter(declared, "x", GLOSSARY) == []


def test_subscripted_relatives_are_not_homonyms():
    # B_crit is never written as a bare B, so a chapter may link both and write B freely.
    nb = _notebook("The batch size ({term}`B`) and the critical batch size ({term}`B_crit`).", "$S(B)$ falls.")
    assert notation.check_one_sense_per_letter(nb, "x", GLOSSARY) == []
