"""Whether a value from a profile can be a recipient: one plain address, nothing else.

Traits are written by whoever holds the write key (it ships in browser JavaScript), so an
`email` trait is only a recipient once it is a single `local@domain` with no list, no display
name, no angle brackets and no control characters that could end a header line.
"""

from __future__ import annotations

import re

# RFC 5321's dot-atom local part and a dotted domain of LDH labels: deliberately narrower
# than everything RFC 5322 allows (quoted local parts, literals), which no shop needs.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
MAX_LENGTH = 254  # RFC 5321's limit on a forward path


def address_problem(value: object) -> str | None:
    """Why `value` cannot be a recipient address, or None when it can."""
    if not isinstance(value, str):
        return "the email trait is not text"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "the address contains a control character (CR/LF cannot go into a header)"
    if len(value) > MAX_LENGTH:
        return f"the address is longer than {MAX_LENGTH} characters"
    if _ADDRESS.fullmatch(value) is None:
        return f"not a single plain address: {value[:80]!r}"
    return None
