"""Compose's variable interpolation, for text that stays Compose text.

The rules are Compose's (compose-spec ``12-interpolation.md``): ``$VAR`` and ``${VAR}``;
``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset); ``${VAR:?message}`` and
``${VAR?message}`` (an error); ``${VAR:+alternative}``, ``${VAR+alternative}``; ``$$`` is a
literal ``$``. Defaults and alternatives may themselves hold variables.

:func:`interpolate` resolves variables but keeps the result *Compose* text: a ``$`` in a
value it substitutes is written ``$$``, ``$$`` stays ``$$``, and an expression it is not
asked to resolve is kept verbatim, so Compose on the deploy host reads exactly the intended
value and nothing is interpolated twice. :func:`variables` lists the variables a string
still holds (the registry warns about them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A variable that must be set is not (``${VAR:?message}``, or unset in strict mode),
    or an expression Compose cannot read (``${}``, an unclosed ``${``)."""


@dataclass(frozen=True)
class _Expr:
    start: int
    end: int  # index after the expression
    name: str
    operator: str  # "" for $VAR / ${VAR}
    argument: str  # raw text after the operator


def _expressions(text: str) -> Iterator[_Expr | int]:
    """Each ``$$`` (as its index) and each variable expression, in order."""
    i = 0
    while True:
        i = text.find("$", i)
        if i < 0 or i + 1 >= len(text):
            return
        nxt = text[i + 1]
        if nxt == "$":
            yield i
            i += 2
        elif nxt == "{":
            end = _closing(text, i + 2)
            body = text[i + 2 : end]
            match = _NAME.match(body)
            if match is None:
                raise InterpolationError(f"invalid interpolation {text[i : end + 1]!r}")
            rest = body[match.end() :]
            operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
            if operator is None and rest:
                raise InterpolationError(f"invalid interpolation {text[i : end + 1]!r}")
            operator = operator or ""
            yield _Expr(i, end + 1, match.group(), operator, rest[len(operator) :])
            i = end + 1
        else:
            match = _NAME.match(text, i + 1)
            if match is None:
                i += 1  # a lone "$" followed by something else is kept as is
                continue
            yield _Expr(i, match.end(), match.group(), "", "")
            i = match.end()


def _closing(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"unclosed interpolation in {text!r}")


def variables(text: str) -> list[str]:
    """The variable names ``text`` holds (in defaults too), in order, each once."""
    found: list[str] = []
    for expr in _expressions(text):
        if isinstance(expr, _Expr):
            found.append(expr.name)
            found.extend(variables(expr.argument))
    return list(dict.fromkeys(found))


def defaults_decide(text: str) -> bool:
    """True if every expression in ``text`` has a default (``${VAR:-x}``, ``${VAR-x}``,
    defaults included): where its variables are unset, the value is known in advance."""
    for expr in _expressions(text):
        if isinstance(expr, _Expr) and (
            expr.operator not in (":-", "-") or not defaults_decide(expr.argument)
        ):
            return False
    return True


def interpolate(
    text: str,
    lookup: Callable[[str], str | None],
    *,
    only: Collection[str] | None = None,
    strict: bool = True,
) -> str:
    """``text`` with its variables resolved by ``lookup`` (None = unset), still Compose text.

    ``only``: resolve just these names, keep every other expression verbatim. ``strict``:
    an unset variable without a default is an error (Compose would silently use ""), which
    a publish wants: ``image: shop/web:`` is not what anyone meant. Every problem is
    reported in one InterpolationError.
    """
    errors: list[str] = []
    out = _resolve(text, lookup, only, strict, errors, escape=True)
    if errors:
        raise InterpolationError("; ".join(dict.fromkeys(errors)))
    return out


def unsupplied(text: str, lookup: Callable[[str], str | None]) -> list[str]:
    """The variables ``text`` needs that ``lookup`` does not supply, each once, in order:
    ``${VAR}``/``$VAR`` unset, ``${VAR:?}`` unset or empty, ``${VAR?}`` unset, also inside
    a default that is used. ``${VAR:-x}``, ``${VAR-x}`` and ``${VAR:+x}`` need nothing."""
    errors: list[str] = []
    names: list[str] = []
    _resolve(text, lookup, None, True, errors, escape=True, unset=names)
    return list(dict.fromkeys(names))


def used_empty(text: str, lookup: Callable[[str], str | None]) -> list[str]:
    """The variables whose empty value (set to "") ``text`` uses as it is, each once, in
    order: ``$VAR``, ``${VAR}`` and ``${VAR?msg}`` set to "", also inside a default that is
    used. Written ``${VAR-x}`` or ``${VAR:-x}`` the descriptor says what it wants for an
    empty value (``${VAR-}``: empty is fine), so those are not listed; ``${VAR:?msg}``
    refuses "" itself (:func:`unsupplied`)."""
    errors: list[str] = []
    names: list[str] = []
    _resolve(text, lookup, None, False, errors, escape=True, empty=names)
    return list(dict.fromkeys(names))


def _resolve(
    text: str,
    lookup: Callable[[str], str | None],
    only: Collection[str] | None,
    strict: bool,
    errors: list[str],
    *,
    escape: bool,
    unset: list[str] | None = None,
    empty: list[str] | None = None,
) -> str:
    out: list[str] = []
    last = 0
    for expr in _expressions(text):
        if isinstance(expr, int):
            out.append(text[last:expr] + ("$$" if escape else "$"))
            last = expr + 2
            continue
        out.append(text[last : expr.start])
        last = expr.end
        if only is not None and expr.name not in only:
            out.append(text[expr.start : expr.end])
            continue
        value = _value(expr, lookup, only, strict, errors, unset, empty)
        out.append(value.replace("$", "$$") if escape else value)
    out.append(text[last:])
    return "".join(out)


def _value(
    expr: _Expr,
    lookup: Callable[[str], str | None],
    only: Collection[str] | None,
    strict: bool,
    errors: list[str],
    unset: list[str] | None = None,
    empty: list[str] | None = None,
) -> str:
    value = lookup(expr.name)
    op = expr.operator
    if empty is not None and value == "" and op in ("", "?"):
        empty.append(expr.name)

    def argument() -> str:
        return _resolve(
            expr.argument, lookup, only, strict, errors, escape=False, unset=unset, empty=empty
        )

    empty_counts = op.startswith(":")
    missing = value is None or (empty_counts and value == "")
    if op in (":-", "-"):
        return argument() if missing else str(value)
    if op in (":?", "?"):
        if missing:
            reason = argument() or ("is not set" if value is None else "is empty")
            errors.append(f"variable {expr.name} is required: {reason}")
            if unset is not None:
                unset.append(expr.name)
            return ""
        return str(value)
    if op in (":+", "+"):
        return "" if missing else argument()
    if value is None:
        if strict:
            errors.append(f"variable {expr.name} is not set (and has no default)")
        if unset is not None:
            unset.append(expr.name)
        return ""
    return value
