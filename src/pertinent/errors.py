"""One error root. Each error says what went wrong, where, and what to do about it.

The API layer turns these into JSON problems and the CLI into one red line; neither shows a
traceback to a user.
"""

from __future__ import annotations


class PertinentError(Exception):
    """Base of every error a user can be shown."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(PertinentError):
    """A workspace file (pertinent.yaml, a segment, a journey) is wrong."""


class TemplateError(PertinentError):
    """A template does not parse or render."""


class InputError(PertinentError):
    """Input data (an import file, a request) is wrong."""


class NotFoundError(PertinentError):
    """The thing asked for does not exist."""
