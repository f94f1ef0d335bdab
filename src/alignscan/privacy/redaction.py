"""Comments leave alignscan without what names a person: e-mail addresses, phone
numbers, links and ids are replaced by their kind (`redact`), also when spelt out
("name (at) example (dot) com") or hidden with zero-width characters."""

from __future__ import annotations

import functools
import re
import unicodedata

REDACTION_KINDS = ("e-mail", "phone", "link", "id")
_TLDS = (  # lower case only, and no English words ("in", "no", "be", "it", "is", "me")
    "com|org|net|edu|gov|mil|int|info|biz|io|co|ai|app|dev|cloud|online|site|tech|local|"
    "internal|intranet|corp|lan|uk|de|fr|nl|ch|at|es|pt|se|dk|fi|ie|pl|cz|ca|au|nz|jp|cn|"
    "br|mx|eu"
)
_SPACED_AT = r"\s*(?:@|[(\[{<]\s*(?i:at)\s*[)\]}>])\s*"
_SPACED_DOT = r"\s*(?:\.|[(\[{<]\s*(?i:dot)\s*[)\]}>])\s*"
_WORD_DOT = r"\s*(?:[(\[{<]\s*(?i:dot)\s*[)\]}>]|\s(?i:dot)\s)\s*"
_REDACT = (
    ("e-mail", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # no dot after "@": "jane@localhost", "jane@intranet", "jane@[10.0.0.1]"
    ("e-mail", re.compile(r"[\w.+-]+@(?:\[[0-9A-Fa-f.:]+\]|[A-Za-z][\w-]*)")),
    # spaced or spelled out: "jane . doe @ acme . com", "jane at acme dot com"
    ("e-mail", re.compile(
        rf"\b[\w+-]+(?:{_SPACED_DOT}[\w+-]+)*{_SPACED_AT}[\w-]+(?:{_SPACED_DOT}[\w-]+)*"
        rf"{_SPACED_DOT}(?:{_TLDS})\b"
    )),
    ("e-mail", re.compile(
        rf"\b[\w.+-]+(?:{_WORD_DOT}[\w+-]+)*\s(?i:at)\s+[\w-]+(?:{_WORD_DOT}[\w-]+)*"
        rf"{_WORD_DOT}(?:{_TLDS})\b"
    )),
    # "jane_doe at acme.com" (a local part with "_", ".", "+", "-" or a digit)
    ("e-mail", re.compile(
        rf"\b[\w+-]*[._+\d-][\w.+-]*\s(?i:at)\s+[\w-]+(?:\.[\w-]+)*\.(?:{_TLDS})\b"
    )),
    # a handle: "@jdoe"
    ("id", re.compile(r"(?<![\w.+-])@[A-Za-z_][\w.-]*\w")),
    # a bare IPv4 address: "10.1.2.3"
    ("link", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)")),
    ("link", re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"']+")),
    # a bare host name: "intranet.acme.com", "hr-portal.acme.de/path"
    ("link", re.compile(
        rf"(?<![\w@.\[-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:{_TLDS})\b"
        r"(?:/[^\s<>\"']*)?"
    )),
    # employee numbers and the like: "EMP-40213", "E1234567", "ID: 882", "#004512"
    ("id", re.compile(
        r"(?i)\b(?:id|emp(?:loyee)?|staff|personnel|badge|payroll)\s*(?:no\.?|number|nr\.?)?"
        r"\s*[:#]?\s*[a-z]{0,3}[-_]?\d{3,}\b"
        r"|\b[a-z]{1,4}(?:[-_#]\d{4,12}|\d{5,12})\b|(?<![\w&])#\d{4,12}\b"
    )),
    ("phone", re.compile(r"(?<![\w+])(?:\+\d[\d ().\-/]{5,}\d|\d(?:[ ().\-/]?\d){6,14})(?!\w)")),
)
_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}\s*-\s*\d{4}"
)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061"
                                "\u2062\u2063\u2064\ufeff"))
_FULL_STOPS = dict.fromkeys(map(ord, "\u3002\uff0e\uff61"), ".")  # 。．｡ (NFKC keeps 。)
_MAYBE = re.compile(r"[@:#.]|(?i:\bat\b)|\d")  # nothing to redact without one of these


def _unmask(text: str) -> str:
    """NFKC (full-width "＠" becomes "@", "ｅ" becomes "e") without zero-width characters,
    so that a masked address or number reads as what it is."""
    text = unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH)).translate(_ZERO_WIDTH)
    return text.translate(_FULL_STOPS)


def _phone(match: re.Match[str]) -> str:
    """A phone number, unless the digits are a date or a span of years."""
    return match.group(0) if _DATE.fullmatch(match.group(0).strip()) else "[phone]"


@functools.lru_cache(maxsize=65536)
def redact(text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """Replace e-mail addresses (also spaced or spelled out), links and bare host names,
    employee-number-like tokens and phone numbers (7 to 15 digits) with [e-mail],
    [link], [id], [phone]; return the text (NFKC, without zero-width characters) and
    (kind, how many) pairs. Comments repeat, and most hold none of these: a cheap first
    look and a cache keep a million comments fast."""
    if text.isascii():
        if not _MAYBE.search(text):
            return text, ()
    else:
        text = _unmask(text)
    found: dict[str, int] = {}
    for kind, pattern in _REDACT:
        if kind == "phone":
            n = sum(1 for m in pattern.finditer(text) if not _DATE.fullmatch(m.group(0).strip()))
            text = pattern.sub(_phone, text)
        else:
            text, n = pattern.subn(f"[{kind}]", text)
        if n:
            found[kind] = found.get(kind, 0) + n
    return text, tuple(found.items())
