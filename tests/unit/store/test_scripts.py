"""The store's Lua scripts: files that say what each KEYS and ARGV entry is, and that name no key
themselves (keys come from worker/store/keys.py, in KEYS or as its patterns)."""

from __future__ import annotations

import re

import pytest

from worker.store.connection import SCRIPT_NAMES, script_sources
from worker.store.due_members import deliver_member, period_member
from worker.store.keys import Keys, pattern_of

USED = re.compile(r"\b(KEYS|ARGV)\[(\d+)\]")
HEADER = re.compile(r"^-- (KEYS|ARGV)\[(\d+)\]:", re.MULTILINE)


def header(source: str) -> str:
    """The comment lines the script opens with."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line)
    return "\n".join(lines)


def code(source: str) -> str:
    """The script without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in source.splitlines())


def test_every_script_is_a_file_and_every_file_a_script() -> None:
    assert set(script_sources()) == set(SCRIPT_NAMES)
    assert len(SCRIPT_NAMES) == 21


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_the_header_names_each_keys_and_argv_entry_the_script_uses_once_in_order(name: str) -> None:
    source = script_sources()[name]
    named = [(kind, int(n)) for kind, n in HEADER.findall(header(source))]
    used = {(kind, int(n)) for kind, n in USED.findall(code(source))}
    # Every entry used is named, and every entry named is used
    assert set(named) == used
    # Named once each, KEYS before ARGV, numbered from 1 without a hole
    assert len(named) == len(set(named))
    for kind in ("KEYS", "ARGV"):
        numbers = [n for k, n in named if k == kind]
        assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_no_script_names_a_key_or_a_due_member_itself(name: str) -> None:
    body = code(script_sources()[name])
    # No key built from a prefix, no member or kind literal: they come in KEYS and ARGV
    for literal in ("prefix", "':order:", "':account:", "':delivery:", "'deliver:'", "'invoice'", "'invoice:'"):
        assert literal not in body, literal


def test_a_script_that_touches_a_key_not_in_keys_says_why() -> None:
    for name, source in script_sources().items():
        if "pattern_of(Keys." in header(source):  # it names keys at run time, from such a pattern
            assert "Not in KEYS" in header(source), name


def test_a_pattern_makes_the_names_its_function_makes_for_lua_string_format() -> None:
    keys = Keys("iw")
    assert pattern_of(keys.order) == "iw:order:%s"
    assert pattern_of(keys.activations) == "iw:order:%s:activations"
    assert pattern_of(deliver_member) == "deliver:%s"
    assert pattern_of(period_member) == "period:%s"
    # A % of the prefix stays a literal % in string.format
    assert pattern_of(Keys("50%").account) == "50%%:account:%s"
