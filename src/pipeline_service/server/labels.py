"""Labels and label selectors (kubectl's syntax): what a valid label is, reading a selector,
and whether labels match it.

A selector is requirements separated by commas, all of which must hold: `key=value` (or
`key==value`), `key!=value` (true without the key too), `key in (v1, v2)`, `key notin (v1,
v2)`, `key` (has the key), `!key` (has not). Storage turns each requirement into SQL
(`storage/labels.py`); the runs stream matches documents with `matches`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn

from pipeline_service.server.errors import Unprocessable
from pipeline_service.wire import MAX_LABELS, MAX_SELECTOR_REQUIREMENTS, MAX_SELECTOR_VALUES

KEY = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?")
VALUE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?")

Operator = Literal["=", "!=", "in", "notin", "exists", "!exists"]


@dataclass(frozen=True)
class Requirement:
    """One requirement of a selector: `key` `operator` `values` (none for the existence ones)."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def holds(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        match self.operator:
            case "=" | "in":
                return value in self.values
            case "!=" | "notin":
                return value not in self.values
            case "exists":
                return value is not None
            case "!exists":
                return value is None


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """labels, or ValueError saying which label is wrong (a 422 in a request body)."""
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels, not {len(labels)}")
    for key, value in labels.items():
        if not KEY.fullmatch(key):
            raise ValueError(
                f"label key {key[:80]!r} is not 1 to 63 letters, digits and '-_./' beginning "
                "and ending with a letter or digit"
            )
        if not isinstance(value, str) or not VALUE.fullmatch(value):
            raise ValueError(
                f"label {key}={str(value)[:80]!r}: a value is at most 63 letters, digits and "
                "'-_.' beginning and ending with a letter or digit (or empty)"
            )
    return dict(labels)


# Requirements are separated by spaces only (the spec's pattern says so): a tab is an error.
_TOKEN = re.compile(
    r" *(?:(?P<op>==|!=|=|\(|\)|,|!)|(?P<word>[A-Za-z0-9._/-]+)|(?P<bad>.))", re.DOTALL
)
_OPERATORS = frozenset({"==", "!=", "=", "(", ")", ",", "!"})


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """The requirements of a selector; Unprocessable naming the problem."""
    return _Parser(text).requirements()


class _Parser:
    """Reads a selector token by token (words: keys, values, `in`, `notin`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = []
        for match in _TOKEN.finditer(text.rstrip(" ")):
            if match.group("bad"):
                self.fail(f"{match.group('bad')!r} has no meaning in a selector")
            self.tokens.append(match.group("op") or match.group("word"))
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += 1
        return token

    def fail(self, problem: str) -> NoReturn:
        raise Unprocessable(f"label selector {self.text[:200]!r}: {problem}")

    def requirements(self) -> tuple[Requirement, ...]:
        found = [self.requirement()]
        while (separator := self.take()) is not None:
            if separator != ",":
                self.fail(f"expected a comma between requirements, not {separator!r}")
            found.append(self.requirement())
            if len(found) > MAX_SELECTOR_REQUIREMENTS:
                self.fail(f"at most {MAX_SELECTOR_REQUIREMENTS} requirements")
        return tuple(found)

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            return Requirement(self.key(), "!exists")
        key = self.key()
        following = self.peek()
        if following in (None, ","):
            return Requirement(key, "exists")
        self.take()
        if following in ("=", "==", "!="):
            value = "" if self.peek() in (None, ",") else str(self.take())
            self.check_value(key, value)
            return Requirement(key, "!=" if following == "!=" else "=", (value,))
        if following not in ("in", "notin"):
            self.fail(
                f"after {key!r} expected =, ==, !=, in, notin, a comma or the end, "
                f"not {following!r}"
            )
        return Requirement(key, "in" if following == "in" else "notin", self.values(key))

    def key(self) -> str:
        token = self.take()
        if token is None:
            self.fail("a requirement is missing (an empty selector, or a comma at the end)")
        if not KEY.fullmatch(token):
            self.fail(f"{token!r} is not a label key")
        return token

    def values(self, key: str) -> tuple[str, ...]:
        if self.take() != "(":
            self.fail(f"{key}: a set of values is written in parentheses: {key} in (a, b)")
        values: list[str] = []
        while True:
            value = self.take()
            if value is None:
                self.fail(f"{key}: the set of values is not closed with ')'")
            if value in _OPERATORS:
                self.fail(f"{key}: {value!r} where a value belongs in the set")
            self.check_value(key, value)
            values.append(value)
            closing = self.take()
            if closing == ")":
                break
            if closing != ",":
                self.fail(f"{key}: values of a set are separated by commas and closed with ')'")
        if len(values) > MAX_SELECTOR_VALUES:
            self.fail(f"{key}: at most {MAX_SELECTOR_VALUES} values in a set")
        return tuple(values)

    def check_value(self, key: str, value: str) -> None:
        if value in _OPERATORS or not VALUE.fullmatch(value):
            self.fail(f"{key}: {value!r} is not a label value")


def matches(selector: tuple[Requirement, ...], labels: Mapping[str, str]) -> bool:
    """Whether labels satisfy every requirement of the selector."""
    return all(requirement.holds(labels) for requirement in selector)
