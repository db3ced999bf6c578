"""
Path patterns of fault rules and request-log filters: globs, matched without regular expressions.

A pattern is matched against the whole request path, segment by segment:

* ``*`` matches any characters within one segment (never a ``/``), ``?`` exactly one;
* a segment that is exactly ``**`` matches any number of segments, none included;
* a pattern that does not start with ``/`` is relative to the API base ``/api/dataframer/``.

So ``specs/`` is the spec list, ``specs/*/`` one spec, ``runs/**`` everything under the runs,
``runs/*/cancel/`` a cancel, ``/_emulator/downloads/*`` a download URL and ``**`` every path.

User regular expressions were replaced because one such as ``(a+)+$`` backtracks for seconds on
a short path and blocks the whole server. Matching here is a dynamic programme over segments and
characters: its cost is at most the product of the pattern's and the path's lengths, whatever
the pattern.
"""

from __future__ import annotations

import functools

API_BASE = "/api/dataframer/"
#: Longest pattern accepted: with paths bounded by the server, this bounds a match's cost.
MAX_PATTERN_LENGTH = 512
#: Characters of the old regular-expression form; a glob never needs them.
_REGEX_SYNTAX = frozenset("^$[]()+|\\{}")


def check_pattern(pattern: str) -> str:
    """
    Validate a glob pattern; answer it unchanged.

    :param pattern: the pattern.
    :raises ValueError: naming the problem and the glob syntax, e.g. for a regular expression.
    """
    if not pattern:
        raise ValueError("path: an empty pattern matches nothing; use '**' for every path.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"path: a pattern has at most {MAX_PATTERN_LENGTH} characters.")
    regex_chars = sorted(_REGEX_SYNTAX.intersection(pattern))
    if regex_chars or ".*" in pattern:
        found = "".join(regex_chars) or ".*"
        raise ValueError(
            f"path: '{pattern}' looks like a regular expression ({found}); paths are globs now: "
            "'*' within a segment, '**' for any segments, relative to /api/dataframer/ unless it "
            "starts with '/' (e.g. 'specs/', 'specs/*/', 'runs/**')."
        )
    return pattern


def absolute(pattern: str) -> str:
    """The pattern as an absolute path pattern."""
    return pattern if pattern.startswith("/") or pattern == "**" else API_BASE + pattern


def path_matches(pattern: str, path: str) -> bool:
    """
    Whether ``path`` matches the glob ``pattern`` (see the module documentation).

    :param pattern: a pattern accepted by :func:`check_pattern`.
    :param path: the request path, e.g. ``/api/dataframer/specs/``.
    """
    return _match_segments(tuple(absolute(pattern).split("/")), tuple(path.split("/")))


def _match_segments(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    # reachable[j]: pattern[:i] matches path[:j]; one row per pattern segment.
    reachable = [True] + [False] * len(path)
    for segment in pattern:
        if segment == "**":
            seen = False
            for j in range(len(path) + 1):
                seen = seen or reachable[j]
                reachable[j] = seen
            continue
        row = [False] * (len(path) + 1)
        for j in range(1, len(path) + 1):
            row[j] = reachable[j - 1] and _segment_matches(segment, path[j - 1])
        reachable = row
    return reachable[len(path)]


@functools.lru_cache(maxsize=1024)
def _segment_matches(pattern: str, text: str) -> bool:
    # reachable[j]: pattern[:i] matches text[:j].
    reachable = [True] + [False] * len(text)
    for char in pattern:
        if char == "*":
            seen = False
            for j in range(len(text) + 1):
                seen = seen or reachable[j]
                reachable[j] = seen
            continue
        row = [False] * (len(text) + 1)
        for j in range(1, len(text) + 1):
            row[j] = reachable[j - 1] and (char == "?" or char == text[j - 1])
        reachable = row
    return reachable[len(text)]
