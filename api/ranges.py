"""HTTP Range (RFC 9110 §14) for single byte ranges."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` for a single satisfiable range, ``None`` to send everything.

    Multiple ranges and malformed headers are ignored (a full 200 is allowed by the
    RFC); a syntactically valid range past the end raises ``Unsatisfiable`` (416).
    """
    if not header:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if not m:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0:
            raise Unsatisfiable()
        return max(0, size - suffix), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or (last != "" and int(last) < start):
        raise Unsatisfiable()
    return start, end
