"""Cutting text to the registry's limits, which count bytes of UTF-8 (registry/http/parsing/
fields.py): a client that cut by characters would send 200 characters that are 400 bytes,
and the registry would refuse the request."""

from __future__ import annotations


def clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")
