"""Whether a value from a profile can be a recipient, and the one form it is sent and matched in.

Traits are written by whoever holds the write key (it ships in browser JavaScript), so an
`email` trait is only a recipient once it parses as exactly one address: no list, no trailing
comma, no display name, no angle brackets, no control character that could end a header line.
`email-validator` checks the syntax (RFC 5321/5322, without the obsolete forms); it is never
asked to look the domain up in DNS, so a check costs microseconds and never waits.

The address that passes is normalized once, here, and that one form is the recipient, the
`To` header, the outbox row and the key the suppression list matches: `A@Example.COM ` and
`a@example.com` are the same person to unsubscribe. The whole address is lowercased; RFC 5321
lets a local part be case-sensitive, but no mailbox provider a shop sends to treats it so, and
a suppression that missed `Ann@` after `ann@` unsubscribed would be the worse mistake.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from pertinent.errors import InputError

MAX_LENGTH = 254  # RFC 5321's limit on a forward path
# The shape of what `normalize_address` returns: a lowercase dot-atom at a lowercase domain.
_NORMAL_FORM = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}"
)


class AddressError(InputError):
    """The value cannot be a recipient; the message says why, for the outbox row."""


def normalize_address(value: object) -> str:
    """The one form of a recipient address (ASCII, lowercase), or `AddressError` saying why
    `value` is not exactly one address."""
    if not isinstance(value, str):
        raise AddressError("the email trait is not text")
    text = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise AddressError(
            "the address contains a control character (CR/LF cannot go into a header)"
        )
    if len(text) > MAX_LENGTH:
        raise AddressError(f"the address is longer than {MAX_LENGTH} characters")
    try:
        # No SMTPUTF8: a relay that lacks it would refuse the message, so an international
        # local part is refused here with a reason; an international domain goes as IDNA.
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(f"not a single plain address: {text[:80]!r} ({exc})") from None
    return str(checked.ascii_email or checked.normalized).lower()


def stored_recipient(address: str) -> str:
    """The recipient of a stored email as it goes on the wire. A row composed since
    addresses are normalized has the normal form, checked in a microsecond (nothing in it
    can add a recipient or a header); any other row is parsed in full again."""
    if len(address) <= MAX_LENGTH and _NORMAL_FORM.fullmatch(address):
        return address
    return normalize_address(address)
