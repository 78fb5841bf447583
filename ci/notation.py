"""One notation: the glossary and every chapter agree on what each linked symbol means.

    .venv/bin/python ci/notation.py          # every chapter of _toc.yml; exit 1 on a problem

Used by ``tests/test_notation.py``. A chapter links a glossary entry with ``{term}`α` ``; a reader who
follows the link must find the quantity the chapter means. Three rules are checked on the committed
notebooks and on ``glossary.md``:

- ``registered``: every glossary entry whose name is a symbol (not a lower-case phrase) has a row in
  :data:`SYMBOLS` (its TeX form and the words that state its sense), every row names an existing entry,
  and the entry's own definition contains those sense words — so the table cannot drift from the
  glossary;
- ``sense_at_link``: wherever a chapter links a symbol entry, the sentence around the link states the
  sense of the entry — one of its sense words, or the symbol in its defining formula (for α, a power of
  ``-\\alpha``). A link dropped into a bare list of terms gives a reader no way to tell whether the chapter
  means what the glossary means;
- ``one_sense_per_letter``: some entries are different quantities that papers write with the same bare
  letter (the power-law exponent α and Sorscher et al.'s examples per dimension α = P/N; non-embedding
  parameters N, Hoffmann et al.'s total parameters N and the perceptron dimension N). A chapter that
  links two entries of such a group and writes the bare letter in its maths must say which one the bare
  letter means: a sentence with "in this chapter" (or "here"), the bare letter in maths and a link to
  exactly one entry of the group.

Each check takes the notebook (JSON as a dict) and the parsed glossary and returns a list of problems.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Symbol:
    """One glossary symbol: ``tex`` is how chapters write it in maths, ``senses`` the words that say what it
    is (any one of them near a link states the sense), ``formula`` a regular expression of the symbol in its
    defining use (an alternative to the words), ``bare`` the bare letter papers write it with ("" when it
    is always written with a subscript): entries with the same ``bare`` letter are homonyms."""

    tex: str
    senses: tuple[str, ...]
    bare: str
    formula: str = ""


# The symbols of glossary.md. Sense words are matched case-insensitively as word prefixes.
SYMBOLS: dict[str, Symbol] = {
    "N": Symbol(r"N", ("non-embedding", "without embeddings", "embeddings excluded"), "N"),
    "D": Symbol(r"D", ("tokens", "bytes"), "D"),
    "C": Symbol(r"C", ("compute", "flops"), "C", formula=r"C\s*\\approx\s*6\s*N\s*D"),
    "L": Symbol(r"L", ("loss", "cross-entropy"), "L"),
    "E": Symbol(r"E", ("irreducible", "floor"), "E", formula=r"E\s*\+\s*A"),
    "α": Symbol(r"\alpha", ("exponent", "slope"), r"\alpha", formula=r"\^\{?-\\alpha"),
    "B": Symbol(r"B", ("batch size",), "B"),
    "B_crit": Symbol(r"B_\text{crit}", ("critical batch",), ""),
    "B_noise": Symbol(r"B_\text{noise}", ("noise scale",), ""),
    "B_simple": Symbol(r"B_\text{simple}", ("simple noise scale",), ""),
    "S_min": Symbol(r"S_\text{min}", ("fewest", "steps"), ""),
    "E_min": Symbol(r"E_\text{min}", ("fewest", "examples"), ""),
    "ES": Symbol(r"\text{ES}", ("emergence score", "sharp"), ""),
    "EL2N": Symbol(r"\text{EL2N}", ("error l2", "difficulty", "hard"), ""),
    "α_tot": Symbol(r"\alpha_\text{tot}", ("examples per", "total", "p/n"), r"\alpha", formula=r"P\s*/\s*N"),
    "α_prune": Symbol(r"\alpha_\text{prune}", ("kept", "after pruning", "examples per"), "",
                      formula=r"f\s*\\?,?\s*\\alpha_\\text\{tot\}"),
    "perceptron dimension": Symbol(r"N", ("dimension",), "N"),
    "N_total": Symbol(r"N_\text{total}", ("all parameters", "total parameter", "embeddings included"), "N"),
    "PassUntil": Symbol(r"\text{PassUntil}", ("sampling", "until", "draws"), ""),
    "95 % interval": Symbol(r"", ("interval", "95"), ""),
    "a_opt": Symbol(r"a", ("compute-optimal", "n_\\text{opt}", "exponent"), "a", formula=r"N_\\text\{opt\}"),
}

CONTEXT_CHARS = 160  # how far either side of a link "the sentence around it" reaches
_TERM = re.compile(r"\{term\}`([^`<]*?)(?:\s*<([^>]+)>)?`")
_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)


def parse_glossary(path: Path = ROOT / "glossary.md") -> dict[str, str]:
    """The glossary's entries, {term: definition text}, from its ``{glossary}`` block."""
    text = Path(path).read_text()
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    if block is None:
        raise ValueError(f"{path}: no ```{{glossary}} block")
    entries: dict[str, list[str]] = {}
    current = None
    for line in block.group(1).splitlines():
        if line and not line.startswith(" "):
            current = line.strip()
            entries[current] = []
        elif current is not None:
            entries[current].append(line.strip())
    return {term: " ".join(lines) for term, lines in entries.items()}


#: Glossary entries that are names of methods or scores, not symbols, although they are capitalised.
NAMED_TERMS = {"MARE", "Huber loss", "L-BFGS", "IsoFLOP", "Brier score"}


def is_symbol(term: str) -> bool:
    """A glossary name is a symbol unless it is a lower-case phrase ("power law", "exact match") or a
    named method or score (:data:`NAMED_TERMS`)."""
    return term not in NAMED_TERMS and not re.fullmatch(r"[a-z][a-z0-9 %\-]*", term)


def markdown(nb: dict) -> str:
    """All Markdown of a notebook, cells joined by blank lines."""
    return "\n\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                       for c in nb["cells"] if c["cell_type"] == "markdown")


def links(text: str) -> list[tuple[str, int, int]]:
    """Every ``{term}`` link as (glossary term, start, end); ``{term}`text <target>``` links the target."""
    return [((m.group(2) or m.group(1)).strip(), m.start(), m.end()) for m in _TERM.finditer(text)]


def _states_sense(symbol: Symbol, context: str) -> bool:
    context = re.sub(r"\s+", " ", context)
    lowered = context.lower()
    if any(re.search(r"(?<![a-z])" + re.escape(word.lower()), lowered) for word in symbol.senses):
        return True
    return bool(symbol.formula) and re.search(symbol.formula, context) is not None


def check_registered(glossary: dict[str, str]) -> list[str]:
    """Every symbol entry is in SYMBOLS, every SYMBOLS row is an entry whose definition has a sense word."""
    problems = [f"glossary symbol {term!r} has no row in ci/notation.py SYMBOLS"
                for term in glossary if is_symbol(term) and term not in SYMBOLS]
    for term, symbol in SYMBOLS.items():
        if term not in glossary:
            problems.append(f"SYMBOLS names {term!r}, which the glossary does not define")
        elif not _states_sense(symbol, glossary[term]):
            problems.append(f"the glossary's {term!r} does not use any of its sense words {symbol.senses}")
    return problems


def check_sense_at_link(nb: dict, slug: str, glossary: dict[str, str]) -> list[str]:
    """Each link to a symbol entry sits in a sentence that states the entry's sense."""
    text, problems = markdown(nb), []
    for term, start, end in links(text):
        if term not in glossary:
            problems.append(f"{slug}: {{term}}`{term}` links no glossary entry")
            continue
        symbol = SYMBOLS.get(term)
        if symbol is None:
            continue
        shown = _TERM.match(text, start).group(1)  # what the reader sees: "perceptron dimension", "α"
        context = text[max(0, start - CONTEXT_CHARS):start] + shown + text[end:end + CONTEXT_CHARS]
        if not _states_sense(symbol, context):
            problems.append(f"{slug}: the link to {term!r} does not say what it means nearby "
                            f"(one of {symbol.senses}" + (f", or the formula /{symbol.formula}/" if symbol.formula else "")
                            + f"): …{text[max(0, start - 60):end + 60]!r}…")
    return problems


def _bare_uses(text: str, tex: str) -> list[str]:
    """Maths spans in which ``tex`` (a single letter or command) appears without a subscript."""
    pattern = re.compile(re.escape(tex) + r"(?![A-Za-z_])")
    return [m.group(0) for m in _MATH.finditer(text) if pattern.search(m.group(1) or m.group(2) or "")]


def _declares(text: str, bare: str, group: set[str]) -> bool:
    """Whether some sentence says "in this chapter"/"here", writes ``bare`` in maths and links exactly one
    entry of ``group``."""
    for sentence in re.split(r"(?<=[.;:])\s+(?=[A-Z*(])|\n\n", text):
        if not re.search(r"\b(in this chapter|here)\b", sentence, re.I):
            continue
        if not _bare_uses(sentence, bare):
            continue
        if len({term for term, _, _ in links(sentence)} & group) == 1:
            return True
    return False


def check_one_sense_per_letter(nb: dict, slug: str, glossary: dict[str, str]) -> list[str]:
    """A chapter that links two homonyms (entries papers write with the same bare letter) and writes that
    letter bare says which entry the bare letter means."""
    text = markdown(nb)
    groups: dict[str, set[str]] = {}
    for term, _, _ in links(text):
        if term in SYMBOLS and SYMBOLS[term].bare:
            groups.setdefault(SYMBOLS[term].bare, set()).add(term)
    problems = []
    for bare, group in sorted(groups.items()):
        if len(group) < 2 or not _bare_uses(text, bare):
            continue
        if not _declares(text, bare, group):
            example = _bare_uses(text, bare)[0]
            problems.append(f"{slug}: links {sorted(group)}, which papers all write ${bare}$, and writes "
                            f"${example.strip('$')}$ without saying which one a bare ${bare}$ means here "
                            f"(a sentence with 'in this chapter', ${bare}$ and a link to one of them)")
    return problems


CHAPTER_RULES = {"sense_at_link": check_sense_at_link, "one_sense_per_letter": check_one_sense_per_letter}


def chapters() -> list[Path]:
    """The chapter notebooks of ``_toc.yml``, in order."""
    toc = (ROOT / "_toc.yml").read_text()
    return [ROOT / f"{name}.ipynb" for name in re.findall(r"file:\s*(chapters/\S+)", toc)]


def check(paths: list[Path] | None = None, glossary: dict[str, str] | None = None) -> list[str]:
    """Every problem of every rule over the given chapters (default: those of ``_toc.yml``)."""
    glossary = parse_glossary() if glossary is None else glossary
    problems = check_registered(glossary)
    for path in paths or chapters():
        nb = json.loads(Path(path).read_text())
        for rule in CHAPTER_RULES.values():
            problems += rule(nb, Path(path).stem, glossary)
    return problems


def main(argv=None) -> int:
    problems = check()
    for problem in problems:
        print(problem)
    print(f"[notation] {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
