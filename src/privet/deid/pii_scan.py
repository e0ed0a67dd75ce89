"""The prepared views of a message that the built-in detectors share, and why detectors are shaped as they are.

On chat-sized messages a detector's cost is the number of Python-level steps it takes, not the length of the
text: a regular-expression scan runs in C, but every call, match object and loop iteration costs the better part
of a microsecond on the reference machine, and a pattern that begins with a character class, a look-behind or
`\\b` is tried at every position where it could start. So a message is prepared once:

- `raw`: the text as Latin-1 bytes, every other character replaced by "?", so that byte offsets are character
  offsets of the text;
- `lower`: `raw` in lower case;
- `shape`: `raw` with every digit turned into "0", every upper-case letter into "A" and every lower-case letter
  into "a". A shape turns a question into a literal search, which the engine does fast: a card contains "0000",
  an IBAN starts "AA00", a UK postcode ends " 0AA", a US street line starts "0 A";
- `folded`: the text in lower case as a `str`, for substring tests (`"birth" in folded` is several times cheaper
  than the same test on bytes).

Detectors then search with patterns that start with a literal or a rare character, check boundaries only on the
few matches, and validate last. `detect_all` prepares a message once for all detectors; `detect(text)` on a
single detector prepares it through a small memo.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache


def _shape_of(byte: int) -> int:
    char = chr(byte)
    if "0" <= char <= "9":
        return ord("0")
    if char.isalpha():
        return ord("A") if char.isupper() else ord("a")
    return byte


_SHAPE = bytes(_shape_of(b) for b in range(256))
WORDISH = frozenset(b"0Aa_")  # shape bytes of word characters
CAPITAL = ord("A")


SEPARATOR = "\x00"  # between the messages of a batch; no pattern matches it


class Prepared:
    """The views of one message, or of a batch of messages joined by `SEPARATOR` (`starts` holds their offsets)."""

    __slots__ = ("folded", "lower", "raw", "shape", "starts", "text")

    def __init__(self, text: str, starts: Sequence[int] = (0,)) -> None:
        self.text = text
        self.starts = starts
        self.raw = text.encode("latin-1", "replace")
        self.lower = self.raw.lower()
        self.shape = self.raw.translate(_SHAPE)
        folded = text.lower()
        if len(folded) != len(text):  # a few characters lower-case to two ("İ"); keep offsets aligned
            folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        self.folded = folded

    def word_before(self, index: int) -> bool:
        """The character before `index` is a letter, digit or underscore."""
        return index > 0 and self.shape[index - 1] in WORDISH

    def word_at(self, index: int) -> bool:
        return index < len(self.shape) and self.shape[index] in WORDISH

    def word_start(self, end: int) -> int:
        """Where the white-space separated word ending at `end` starts (never before its message)."""
        raw = self.raw
        return max(raw.rfind(b" ", 0, end), raw.rfind(b"\x00", 0, end), raw.rfind(b"\n", 0, end)) + 1

    def message_bounds(self, index: int) -> tuple[int, int]:
        """Where the message holding `index` starts and ends."""
        if len(self.starts) == 1:
            return 0, len(self.text)
        i = bisect_right(self.starts, index) - 1
        end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(self.text)
        return self.starts[i], end


def prepare_batch(texts: Sequence[str]) -> Prepared:
    """One prepared view of many messages: a pattern scans them all in one call, which costs far less than a
    call per message."""
    starts = []
    position = 0
    for text in texts:
        starts.append(position)
        position += len(text) + 1
    joined = SEPARATOR.join(t.replace(SEPARATOR, " ") if SEPARATOR in t else t for t in texts)
    return Prepared(joined, starts)


@lru_cache(maxsize=16)
def prepare(text: str) -> Prepared:
    return Prepared(text)


def occurrences(data: str, keyword: str) -> list[int]:
    """Every offset of `keyword` in `data` (the folded view, whose `str.find` is the fastest search there is).
    Looking for a few literal keywords one after the other is far cheaper than one pattern with alternatives,
    which the engine has to try at almost every position."""
    found = []
    at = data.find(keyword)
    while at >= 0:
        found.append(at)
        at = data.find(keyword, at + 1)
    return found


def trie_pattern(words: tuple[str, ...] | list[str]) -> str:
    """A regular expression matching any of `words`, factored by common prefix so each branch fails fast."""
    root: dict[str, dict[str, object]] = {}
    for word in words:
        node: dict[str, object] = root  # type: ignore[assignment]
        for char in word:
            node = node.setdefault(char, {})  # type: ignore[assignment]
        node[""] = {}

    def emit(node: dict[str, object]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]  # type: ignore[arg-type]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)  # type: ignore[arg-type]


def latin1(pattern: str) -> bytes:
    """A `str` pattern as a pattern for the byte views (its characters must be Latin-1)."""
    return pattern.encode("latin-1")
