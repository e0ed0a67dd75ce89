"""The wire layer of IAB GPP strings: 6-bit characters, integers, Fibonacci codes and ranges, the header.

Facts from the IAB Tech Lab "Consent String Specification" (Core, v1.0, Nov 2023 clarifications):

- every encoded part is a bit string padded with 0 on the right to a multiple of 6, then one character per
  6 bits from the base64 table; the IAB reference libraries pad to a multiple of 8 first (so a usnat v1
  core of 60 bits is 11 characters there, 10 here), and some writers append `=`: the reader accepts all;
- the spec's table is RFC 4648's standard alphabet (`+`, `/`) while the text asks for URL-safe strings;
  we write `-` and `_` and read either;
- Int(n) is big-endian; Boolean is one bit, 1 = true (the data-type table says "0=true, 1=false", which
  contradicts every section's own field table and the reference libraries);
- Int(Fibonacci) is the Zeckendorf code over 1, 2, 3, 5, 8, ... ending in an extra 1, so "11" closes it;
- Range(Fibonacci) is Int(12) items, each a Boolean (group?), the offset from the last id seen (0 at
  first), and for a group the distance from its first to its last id;
- the header is Int(6) Type = 3, Int(6) Version = 1, then the section ids as a Range(Fibonacci), sorted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUE = {c: i for i, c in enumerate(ALPHABET)} | {"+": 62, "/": 63}

HEADER_TYPE = 3
HEADER_VERSION = 1
# Groups in a range can name huge spans; a header never lists more sections than this.
MAX_RANGE_IDS = 1024

# Client-side API prefixes from the IAB "Section Information" table; 3 is the header itself, 4 has no prefix.
SECTION_NAMES: dict[int, str] = {
    1: "tcfeuv1", 2: "tcfeuv2", 3: "header", 4: "signal integrity", 5: "tcfcav1", 6: "uspv1", 7: "usnat",
    8: "usca", 9: "usva", 10: "usco", 11: "usut", 12: "usct", 13: "usfl", 14: "usmt", 15: "usor", 16: "ustx",
    17: "usde", 18: "usia", 19: "usne", 20: "usnh", 21: "usnj", 22: "ustn", 23: "usmn", 24: "usmd",
    25: "usin", 26: "usky", 27: "usri",
}  # fmt: skip


class GppError(ValueError):
    """A GPP string or value that breaks the IAB specification; the message names the part and the field."""


def where(section_id: int) -> str:
    """How messages name a section: "section 7 (usnat)"."""
    return f"section {section_id} ({SECTION_NAMES.get(section_id, 'unknown id')})"


def _fibonacci() -> Iterator[int]:
    a, b = 1, 2
    while True:
        yield a
        a, b = b, a + b


def decode_chars(text: str, where: str) -> str:
    """The bits of one encoded part, as a string of '0' and '1'."""
    body = text.rstrip("=")
    if not body:
        raise GppError(f"{where}: empty")
    bits = []
    for i, ch in enumerate(body):
        value = _VALUE.get(ch)
        if value is None:
            raise GppError(f"{where}: {ch!r} at position {i} is not a base64url character")
        bits.append(format(value, "06b"))
    return "".join(bits)


def encode_chars(bits: str) -> str:
    bits += "0" * (-len(bits) % 6)
    return "".join(ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def fibonacci_code(value: int) -> str:
    if value < 1:
        raise GppError(f"Fibonacci coding needs a positive integer, not {value}")
    fibs: list[int] = []
    for f in _fibonacci():
        if f > value:
            break
        fibs.append(f)
    code = ["0"] * len(fibs)
    rest = value
    for i in range(len(fibs) - 1, -1, -1):  # greedy from the largest gives the Zeckendorf form
        if fibs[i] <= rest:
            code[i] = "1"
            rest -= fibs[i]
    return "".join(code).rstrip("0") + "1"


class BitWriter:
    def __init__(self) -> None:
        self._bits: list[str] = []

    def uint(self, value: int, width: int) -> None:
        if not 0 <= value < 1 << width:
            raise GppError(f"{value} does not fit in {width} bits")
        self._bits.append(format(value, f"0{width}b"))

    def bool(self, value: bool) -> None:
        self._bits.append("1" if value else "0")

    def fibonacci(self, value: int) -> None:
        self._bits.append(fibonacci_code(value))

    def fibonacci_range(self, ids: Sequence[int]) -> None:
        """Sorted, distinct, positive ids; consecutive runs become groups."""
        runs: list[tuple[int, int]] = []
        for i in ids:
            if runs and i == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        self.uint(len(runs), 12)
        last = 0
        for start, end in runs:
            self.bool(start != end)
            self.fibonacci(start - last)
            if start != end:
                self.fibonacci(end - start)
            last = end

    def text(self) -> str:
        return encode_chars("".join(self._bits))


class BitReader:
    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.bits = decode_chars(text, where)
        self.pos = 0

    def __len__(self) -> int:
        return len(self.bits)

    def _truncated(self, field: str) -> GppError:
        return GppError(f"{self.where}: truncated at bit {self.pos} of {len(self.bits)} while reading {field}")

    def uint(self, width: int, field: str) -> int:
        if self.pos + width > len(self.bits):
            raise self._truncated(field)
        value = int(self.bits[self.pos : self.pos + width], 2)
        self.pos += width
        return value

    def bool(self, field: str) -> bool:
        return self.uint(1, field) == 1

    def fibonacci(self, field: str) -> int:
        value, previous = 0, "0"
        for f in _fibonacci():
            if self.pos >= len(self.bits):
                raise self._truncated(field)
            bit = self.bits[self.pos]
            self.pos += 1
            if bit == "1" and previous == "1":
                return value
            if bit == "1":
                value += f
            previous = bit
        raise AssertionError("unreachable")  # pragma: no cover

    def fibonacci_range(self, field: str) -> tuple[int, ...]:
        ids: list[int] = []
        last = 0
        for item in range(self.uint(12, f"{field} (count)")):
            group = self.bool(f"{field} item {item + 1} (group flag)")
            start = last + self.fibonacci(f"{field} item {item + 1} (offset)")
            end = start + self.fibonacci(f"{field} item {item + 1} (group length)") if group else start
            if len(ids) + end - start + 1 > MAX_RANGE_IDS:
                raise GppError(f"{self.where}: {field} lists more than {MAX_RANGE_IDS} ids")
            ids.extend(range(start, end + 1))
            last = end
        return tuple(ids)


def encode_header(section_ids: Sequence[int]) -> str:
    header = BitWriter()
    header.uint(HEADER_TYPE, 6)
    header.uint(HEADER_VERSION, 6)
    header.fibonacci_range(section_ids)
    return header.text()


def decode_header(text: str) -> tuple[int, ...]:
    """The section ids the header lists, in order."""
    reader = BitReader(text, "header")
    kind = reader.uint(6, "Type")
    if kind != HEADER_TYPE:
        hint = " (a TCF v2 string, not GPP)" if kind == 2 else ""
        raise GppError(f"header: Type is {kind}, expected {HEADER_TYPE}{hint}")
    version = reader.uint(6, "Version")
    if version != HEADER_VERSION:
        raise GppError(f"header: Version is {version}, only {HEADER_VERSION} is supported")
    return reader.fibonacci_range("Sections")
