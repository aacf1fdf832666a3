"""Rundeck's own expansion rules, re-stated so tests can apply them without a Rundeck server.

Sources (Rundeck 4.x/5.x, read for this): ``rundeck.utils.OptionsUtil.expandUrl`` for
``valuesUrl``; ``QuotedStringTokenizer``, ``ExecArgList.buildCommandForNode`` and
``CLIUtils.quoteUnixShellArg`` for ``exec`` steps on a unix node.

valuesUrl: the URL is split at the first ``?``; ``${job.*}``, ``${option.*}``,
``${rundeck.*}`` and ``${globals.*}`` are replaced, URI-component encoded before the ``?``
and form encoded (space -> ``+``) after it. ``${option.X.value}`` of an option with no value
yet becomes ``""``; an unknown reference stays as written.

exec: the command string is split into tokens (whitespace separated; a token that starts
with ``'`` or ``"`` is quoted up to the matching quote, a doubled quote escapes it, and the
quotes are dropped). In a token holding a ``${ctx.key}`` reference each value is replaced
shell-quoted (``'...'`` when it holds whitespace or shell characters); a missing option is
blank, any other missing reference stays as written. Tokens are joined with one space and the
SSH node executor hands that string to the remote user's shell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

URL_REF = re.compile(r"\$\{(job|option|rundeck|globals)\.([^}]+?(\.value)?)\}")
PROPERTY_REF = re.compile(r"\$\{([^\s.{}]+)\.([^\s{}]+)\}")
UNIX_SHELL_CHARS = "\"';{}()&$\\|*?><"


def expand_values_url(
    url: str,
    option: str,
    selected: Mapping[str, str],
    globals_: Mapping[str, str],
    job: Mapping[str, str] | None = None,
) -> str:
    """The URL Rundeck requests for ``option`` given the values already ``selected``."""
    job = job or {}

    def value(m: re.Match[str]) -> str | None:
        ctx, key = m.group(1), m.group(2)
        if ctx == "option" and m.group(3):
            return selected.get(key[: -len(".value")], "")
        if ctx == "option" and key == "name":
            return option
        if ctx == "globals":
            return globals_.get(key)
        if ctx == "job":
            return job.get(key)
        return None

    def encoded(m: re.Match[str], after_query: bool) -> str:
        v = value(m)
        if v is None:
            return m.group(0)
        return quote_plus(v, safe="*") if after_query else quote(v, safe="!~*'()")

    head, sep, query = url.partition("?")
    head = URL_REF.sub(lambda m: encoded(m, False), head)
    return head + sep + URL_REF.sub(lambda m: encoded(m, True), query)


def tokenize(line: str) -> list[str]:
    """Rundeck's ``QuotedStringTokenizer`` (``OptsUtil.burst``)."""
    tokens: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] <= " ":
            i += 1
        if i >= n:
            break
        opener = line[i] if line[i] in "'\"" else ""
        quoting = bool(opener)
        i += 1 if quoting else 0
        buf: list[str] = []
        while i < n:
            c = line[i]
            if quoting:
                if c == opener and line[i + 1 : i + 2] == opener:
                    buf.append(c)
                    i += 2
                elif c == opener:
                    quoting = False
                    i += 1
                else:
                    buf.append(c)
                    i += 1
            elif c <= " ":
                break
            elif opener and c == opener:
                quoting = True
                i += 1
            else:
                buf.append(c)
                i += 1
        tokens.append("".join(buf))
    return tokens


def quote_unix_shell_arg(arg: str) -> str:
    """``CLIUtils.quoteUnixShellArg``."""
    if not any(c in arg for c in UNIX_SHELL_CHARS + "\n\r\t "):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def render_exec(
    command: str, context: Mapping[str, Mapping[str, str]], per_reference: bool = True
) -> str:
    """The command string Rundeck's SSH executor sends for an ``exec`` step.

    ``per_reference=False`` is the pre-5.x rule: the whole expanded token is quoted.
    """

    def sub(m: re.Match[str]) -> str:
        ctx, key = m.group(1), m.group(2)
        found = context.get(ctx, {}).get(key)
        if found is None:
            return "" if ctx == "option" else m.group(0)
        return quote_unix_shell_arg(found) if per_reference else found

    def render(token: str) -> str:
        if per_reference or not PROPERTY_REF.search(token):
            return PROPERTY_REF.sub(sub, token)
        return quote_unix_shell_arg(PROPERTY_REF.sub(sub, token))

    return " ".join(render(token) for token in tokenize(command))


def references(text: str) -> set[tuple[str, str]]:
    """Every ``(context, key)`` referenced in ``text`` (``.value`` kept on option keys)."""
    return {(m.group(1), m.group(2)) for m in PROPERTY_REF.finditer(text)}


#: Rundeck's ``job`` context of an execution (who runs it, which execution), as the jobs
#: use it in ``CONSIGN_BY``; Rundeck always fills these in.
JOB_CONTEXT = {
    "username": "rd user",
    "execid": "7",
    "url": "http://rundeck.example/execution/show/7",
}
