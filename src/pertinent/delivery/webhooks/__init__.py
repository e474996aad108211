"""ESP webhooks: bounce and complaint events that Amazon SES (through SNS), SendGrid and
Postmark post, checked for authenticity where the ESP signs them, read into `Bounce` and
`Complaint` values for `delivery.feedback.record_feedback`.

Each ESP has its module: how it proves a request is its own, and how its documented payload
maps to our values. A request that fails the check is `Unauthentic` (the API answers 403);
a payload that is not what the ESP documents is an `InputError` (400).
"""

from __future__ import annotations

from pertinent.errors import PertinentError


class Unauthentic(PertinentError):
    """The request does not prove that the ESP sent it."""
