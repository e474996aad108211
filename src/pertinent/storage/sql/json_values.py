"""Typed access to a value inside a JSON column, and the language's comparisons on it, in
SQL for SQLite and PostgreSQL (the semantics of `segments.evaluate.compare`).

Every comparison is two-valued (a missing value is false, never NULL), so `not` means what it
says; values compare by JSON type (a number only with a number, text only with text, in
code-point order).
"""

from __future__ import annotations

from typing import Any, assert_never

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Numeric,
    Text,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    not_,
    or_,
    type_coerce,
)

from pertinent.segments.language import AMOUNT_LIMIT, Comparison


class JsonValue:
    """Typed access to the value at a path of a JSON column, per backend."""

    def __init__(self, column: Any, dotted: str, postgresql: bool):
        parts = dotted.split(".")
        self.postgresql = self._pg = postgresql
        if postgresql:
            # A chain of `->` with text keys, not `#>`: a path through an array is missing (as
            # in `evaluate.lookup`), where `#>` would take a key like `0` as an array index.
            keys = [bindparam(None, p, type_=Text) for p in parts]
            parent = column
            for key in keys[:-1]:
                parent = parent.op("->")(key)
            self._type: Any = func.jsonb_typeof(parent.op("->")(keys[-1]))
            self._text: Any = type_coerce(parent.op("->>")(keys[-1]), Text)
        else:
            path = bindparam(None, "$" + "".join(f'."{p}"' for p in parts), type_=Text)
            self._type = func.json_type(column, path)
            self._text = func.json_extract(column, path)

    @classmethod
    def of_parts(cls, kind: Any, raw: Any, postgresql: bool) -> JsonValue:
        """A value read out already (`parts()`, selected in a subquery)."""
        value = cls.__new__(cls)
        value.postgresql = value._pg = postgresql
        value._type, value._text = kind, raw
        return value

    def parts(self) -> tuple[Any, Any]:
        """The value's JSON type and its text (or SQLite's value), labelled `kind`, `raw`."""
        return self._type.label("kind"), self._text.label("raw")

    def present(self) -> ColumnElement[bool]:
        return func.coalesce(self._type, "null") != "null"

    def is_string(self) -> ColumnElement[bool]:
        return func.coalesce(self._type == ("string" if self._pg else "text"), false())

    def micro(self) -> Any:
        """An amount as whole millionths, as `evaluate.micro` computes it (`floor(x * 1e6 +
        0.5)` in doubles); NULL for a non-number or one of a billion or more."""
        if self._pg:
            number = case((self._type == "number", cast(self._text, Float)))
            guarded = case((func.abs(number) < AMOUNT_LIMIT, number))
            scaled = guarded * bindparam(None, 1e6, Float) + bindparam(None, 0.5, Float)
            return cast(func.floor(scaled), BigInteger)
        number = case((self._type.in_(("integer", "real")), self._text))
        scaled = case((func.abs(number) < AMOUNT_LIMIT, number)) * 1e6 + 0.5
        # No floor() in every SQLite build: truncate, then step down below zero.
        whole = cast(scaled, Integer)
        return whole - case((scaled < whole, 1), else_=0)

    def number(self) -> Any:
        kinds = ("number",) if self._pg else ("integer", "real")
        value = cast(self._text, Numeric) if self._pg else self._text
        return case((self._type.in_(kinds), value))

    def string(self) -> Any:
        value = case((self._type == ("string" if self._pg else "text"), self._text))
        return value.collate("C") if self._pg else value

    def boolean(self, wanted: bool) -> ColumnElement[bool]:
        if self._pg:
            return and_(self._type == "boolean", self._text == ("true" if wanted else "false"))
        return self._type == ("true" if wanted else "false")  # type: ignore[no-any-return]

    def text_or_other(self) -> Any:
        """The value as text if it is a string, else something no text that does not start
        with a bracket equals: one read of the document, where `string()` takes two (SQLite
        parses it again for every function). `json_extract` gives a number as a number,
        true/false as 1/0, and an object or an array as its JSON text, which starts with a
        bracket."""
        return self._text if not self._pg else self.string()

    def typed(self, sample: Any) -> Any:
        return self.number() if isinstance(sample, int | float) else self.string()


def _two_valued(expr: ColumnElement[bool]) -> ColumnElement[bool]:
    return func.coalesce(expr, false())


def _equal(json: JsonValue, value: Any) -> ColumnElement[bool]:
    if isinstance(value, bool):
        return _two_valued(json.boolean(value))
    if isinstance(value, str) and not value.startswith(("[", "{")):
        return _two_valued(json.text_or_other() == value)
    return _two_valued(json.typed(value) == value)


def compare(json: JsonValue, cmp: Comparison) -> ColumnElement[bool]:
    value = cmp.value
    match cmp.op:
        case "exists":
            return json.present()
        case "not_exists":
            return not_(json.present())
        case "eq":
            return _equal(json, value)
        case "ne":
            return not_(_equal(json, value))
        case "in":
            return or_(false(), *(_equal(json, v) for v in value))
        case "contains":
            position = (
                func.strpos(json.string(), value)
                if json.postgresql
                else func.instr(json.string(), value)
            )
            return _two_valued(position > 0)
        case "between":
            low, high = value
            # Not BETWEEN: PostgreSQL's grammar takes no COLLATE on its bounds.
            typed = json.typed(low)
            return _two_valued(and_(typed >= low, typed <= high))
        case "gt":
            return _two_valued(json.typed(value) > value)
        case "gte":
            return _two_valued(json.typed(value) >= value)
        case "lt":
            return _two_valued(json.typed(value) < value)
        case "lte":
            return _two_valued(json.typed(value) <= value)
        case _:
            assert_never(cmp.op)
