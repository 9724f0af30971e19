"""Arm assignment for progressive promotions and shadow sampling, bit for bit the TypeScript SDK's
(packages/client/src/assignment.ts): a bucket in basis points (0..9,999) from MurmurHash3 x86_32 of the UTF-8 bytes of
``salt + ":" + key`` (TextEncoder's: a lone surrogate counts as U+FFFD), seed 0. fixtures/assignment.json pins both; docs/clients.md explains the choice.

Written here rather than taken from a package: the client uses the standard library only, and the function is short.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, List, Mapping, Optional, TypeVar

_S = TypeVar("_S", bound=Mapping[str, Any])

#: Basis points in 100 %: a rollout's ``percent_bp`` and a bucket share this scale.
BASIS_POINTS = 10_000

_M32 = 0xFFFFFFFF

#: A surrogate code point that is not half of a pair (a high one not followed by a low one, or a low one not preceded
#: by a high one): what TextEncoder replaces with U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")


def utf8(text: str) -> bytes:
    """The UTF-8 bytes of ``text`` as the TypeScript SDK's TextEncoder makes them, for every string: a lone surrogate
    (a key read from JSON with ``\\ud800`` in it) becomes U+FFFD, and a pair of surrogate code points the character
    they encode, where ``str.encode("utf-8")`` raises on either."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        paired = _LONE_SURROGATE.sub("\ufffd", text)
        return paired.encode("utf-16-le", "surrogatepass").decode("utf-16-le").encode("utf-8")


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def murmur3(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 (aappleby/smhasher, src/MurmurHash3.cpp) of ``data``, as an unsigned 32-bit int."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _M32
    n = len(data)
    tail = n & ~3
    for i in range(0, tail, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = _rotl((k * c1) & _M32, 15)
        h ^= (k * c2) & _M32
        h = (_rotl(h, 13) * 5 + 0xE6546B64) & _M32
    rest = n & 3
    if rest:
        k = int.from_bytes(data[tail:], "little")
        k = _rotl((k * c1) & _M32, 15)
        h ^= (k * c2) & _M32
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


def bucket_of(salt: str, key: str) -> int:
    """The bucket of ``key`` under ``salt`` (a promotion id, or a shadow's calibration id), in basis points 0..9,999:
    ``floor(murmur3(utf8(salt + ":" + key)) * 10000 / 2**32)``. A key is in the candidate arm iff its bucket is below
    the rollout's ``percent_bp``, so a key that is in at 10 % stays in at 50 %."""
    return (murmur3(utf8(f"{salt}:{key}")) * BASIS_POINTS) >> 32


def shadows_taking(shadows: Iterable[_S], key: str, index_version: Optional[str] = None) -> List[_S]:
    """The shadows whose sample takes ``key``: the key's bucket under the shadow's ``calibration_id`` is below its
    ``sample_rate`` in basis points; with ``index_version``, only the shadows of that index version. ``shadow()``
    reports for exactly these and ``shadows_for()`` names them, so the two agree by construction (the SDK:
    ``shadowsTaking``; fixtures/assignment.json pins both)."""
    if not isinstance(key, str) or key == "":
        # a key that is not a non-empty string (None, "") takes no shadow: hashed, every keyless query would share a bucket
        return []
    return [
        s
        for s in shadows
        if (index_version is None or index_version == s["index_version"]) and bucket_of(s["calibration_id"], key) < s["sample_rate"] * BASIS_POINTS
    ]
