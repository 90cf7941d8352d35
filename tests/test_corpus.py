"""The corpus: real SMTP error texts from every ecosystem (tests/data/corpus.toml), each with its source and the
catalog entry it must come out as. One test runs the whole table and reports every miss at once."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

from conftest import leaked

from helpers.catalog import ENTRIES
from helpers.diagnose import UNMATCHED, diagnose

CORPUS_FILE = Path(__file__).parent / "data" / "corpus.toml"
CORPUS = tomllib.loads(CORPUS_FILE.read_text(encoding="utf-8"))["error"]
ECOSYSTEMS = {"python", "go", "node", "java", "dotnet", "php", "ruby", "rust", "curl", "swaks", "msmtp", "gnutls",
              "haskell", "erlang", "elixir", "perl", "c", "dart", "provider"}
FIELDS = {"ecosystem", "library", "expected", "port", "ambiguous", "source", "text"}


def test_the_corpus_is_large_and_comes_from_every_ecosystem():
    assert len(CORPUS) >= 150
    counts = Counter(error["ecosystem"] for error in CORPUS)
    assert set(counts) <= ECOSYSTEMS and len(counts) >= 10, counts
    assert len({error["text"] for error in CORPUS}) == len(CORPUS), "a text is listed twice"


def test_each_text_names_its_source_and_an_entry_that_exists():
    for error in CORPUS:
        assert set(error) <= FIELDS and {"ecosystem", "library", "expected", "source", "text"} <= set(error), error
        assert error["expected"] in ENTRIES or error["expected"] == UNMATCHED, error["expected"]
        public = error["source"].startswith(("https://", "http://"))
        assert public or "run against the lab" in error["source"], error["source"]
        assert any(c.isdigit() for c in error["library"]) or public, error["library"]  # a version, for lab runs
    assert leaked(CORPUS_FILE.read_text(encoding="utf-8")) == []  # no lab credential, in any form


def test_every_text_in_the_corpus_is_diagnosed_as_its_source_says():
    misses = []
    for error in CORPUS:
        matches = diagnose(error["text"], port=error.get("port"))
        ids = [match.id for match in matches]
        if error.get("ambiguous"):
            right = error["expected"] in ids and bool(matches[0].note)
        else:
            right = ids[:1] == [error["expected"]]
        if not right:
            misses.append(f"{error['ecosystem']} ({error['library']}): expected {error['expected']}, got "
                          f"{ids[:3]}\n    {error['text'][:160]!r}\n    {error['source']}")
    assert not misses, f"{len(misses)} of {len(CORPUS)} texts missed:\n" + "\n".join(misses)
