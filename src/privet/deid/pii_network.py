"""Detectors for network identifiers: URLs, IPv4 and IPv6 addresses, MAC addresses.

IPv4 addresses are dotted quads with every octet in range, and not right after a version word ("firmware
1.2.3.4"); IPv6 candidates are validated by `ipaddress`; MAC addresses are six hex pairs with one separator.
URLs start with a scheme or "www.", or are a domain with a common top-level domain followed by a path.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from privet.deid.detection import Entity, PreparedDetector, Span, register
from privet.deid.pii_scan import Prepared, latin1, occurrences, trie_pattern


@dataclass(frozen=True)
class UrlConfig:
    confidence: float = 0.85
    bare_domain_confidence: float = 0.6  # "example.com/help": a domain with a path but no scheme
    bare_domain_tlds: tuple[str, ...] = ("com", "net", "org", "io", "co", "de", "fr", "uk", "eu", "info", "app")


_SCHEMES = ("http://", "https://", "www.")  # looked for on the folded view
_URL_REST = re.compile(rb"[^\s<>\"'`\x00]+")
_HOST = re.compile(rb"[a-z0-9](?:[a-z0-9-]*\.)*[a-z0-9-]*\Z")  # searched backwards from the top-level domain


_OPENERS = {b")": b"(", b"]": b"["}


def _url_end(raw: bytes, start: int, end: int) -> int:
    """Drop sentence punctuation and a closing bracket that the URL did not open."""
    while end > start:
        last = raw[end - 1 : end]
        opener = _OPENERS.get(last)
        unopened = opener is not None and raw.count(opener, start, end) < raw.count(last, start, end)
        if last not in b".,;:!?'\"" and not unopened:
            break
        end -= 1
    return end


@register
class UrlDetector(PreparedDetector[UrlConfig]):
    name = "url"
    entity = Entity.URL
    config_type = UrlConfig

    def __init__(self, config: UrlConfig | None = None) -> None:
        super().__init__(config)
        self._bare = re.compile(latin1(rf"\.{trie_pattern(self.config.bare_domain_tlds)}/"))

    def scan(self, p: Prepared) -> list[Span]:
        spans: list[Span] = []
        self._schemed(p, spans)
        if "/" in p.text:
            self._bare_domains(p, spans)
        return spans

    def _schemed(self, p: Prepared, spans: list[Span]) -> None:
        for scheme in _SCHEMES:
            for start in occurrences(p.folded, scheme):
                if p.word_before(start) or (scheme == "www." and p.folded[start - 3 : start] == "://"):
                    continue
                rest = _URL_REST.match(p.raw, start)
                end = _url_end(p.raw, start, rest.end()) if rest else start
                if end > start + len(scheme) + 2:
                    spans.append(Span(start, end, self.entity, self.config.confidence, self.name))

    def _bare_domains(self, p: Prepared, spans: list[Span]) -> None:
        m = self._bare.search(p.lower)
        while m is not None:
            host = _HOST.search(p.lower, max(0, m.start() - 63), m.start())
            if host is not None and not any(s.start <= host.start() < s.end for s in spans):
                start = host.start()
                if not (p.word_before(start) or p.raw[start - 1 : start] in (b"@", b".", b"/", b"-")):
                    rest = _URL_REST.match(p.raw, start)
                    end = _url_end(p.raw, start, rest.end() if rest else m.end())
                    spans.append(Span(start, end, self.entity, self.config.bare_domain_confidence, self.name))
            m = self._bare.search(p.lower, m.end())


@dataclass(frozen=True)
class IpAddressConfig:
    confidence: float = 0.9
    # "firmware 1.2.3.4" is a version, not an address: skip dotted quads right after these words
    version_words: tuple[str, ...] = (
        "version", "firmware", "fw", "build", "release", "ver", "v", "update to", "updated to", "upgrade to",
        "upgraded to", "update", "mise à jour", "aktualisierung",
    )  # fmt: skip


_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(_OCTET + rb"(?:\." + _OCTET + rb"){3}")
_IPV4_TAIL = re.compile(rb"\.0{1,3}\.0{1,3}\.0{1,3}(?![0Aa_]|\.0)")  # on the shape view, from the first dot
_IPV6_HINT = re.compile(rb":[0-9A-Fa-f]{0,4}:")  # two colons with at most one group between
_IPV6_BACK = re.compile(rb"[0-9A-Fa-f:]*\Z")
_IPV6_TAIL = re.compile(rb"[0-9A-Fa-f:.]*")
_HEX = frozenset(b"0123456789abcdefABCDEF")


@register
class IpAddressDetector(PreparedDetector[IpAddressConfig]):
    name = "ip_address"
    entity = Entity.IP_ADDRESS
    config_type = IpAddressConfig

    def __init__(self, config: IpAddressConfig | None = None) -> None:
        super().__init__(config)
        words = trie_pattern(self.config.version_words)
        self._version_before = re.compile(latin1(rf"(?<![a-z]){words}\.?\s*[:=#]?\s*\Z")) if words else None

    def scan(self, p: Prepared) -> list[Span]:
        spans: list[Span] = []
        if "." in p.text:
            self._ipv4(p, spans)
        if ":" in p.text:
            self._ipv6(p, spans)
        return spans

    def _ipv4(self, p: Prepared, spans: list[Span]) -> None:
        shape = p.shape
        m = _IPV4_TAIL.search(shape)
        while m is not None:
            start, end = m.start(), m.end()
            while start > 0 and m.start() - start < 3 and shape[start - 1] == 48:  # back over the first octet
                start -= 1
            bounded = start < m.start() and not (p.word_before(start) or p.raw[start - 1 : start] == b".")
            version = self._version_before and self._version_before.search(p.lower, max(0, start - 12), start)
            if bounded and not version and _IPV4.fullmatch(p.raw, start, end) is not None:
                spans.append(Span(start, end, self.entity, self.config.confidence, self.name))
            m = _IPV4_TAIL.search(shape, end)

    def _ipv6(self, p: Prepared, spans: list[Span]) -> None:
        raw = p.raw
        m = _IPV6_HINT.search(raw)
        while m is not None:
            back = _IPV6_BACK.search(raw, max(0, m.start() - 40), m.start())
            start = back.start() if back else m.start()
            tail = _IPV6_TAIL.match(raw, m.start())
            end = tail.end() if tail else m.end()
            candidate = raw[start:end].rstrip(b".")
            before, after = raw[start - 1 : start], raw[end : end + 1]
            bounded = not (before.isalnum() or before in (b":", b".", b"_")) and not (after.isalnum() or after == b"_")
            if bounded and sum(ch in _HEX for ch in candidate) >= 4 and _is_ipv6(candidate):
                spans.append(Span(start, start + len(candidate), self.entity, self.config.confidence, self.name))
            m = _IPV6_HINT.search(raw, max(end, m.end()))


def _is_ipv6(candidate: bytes) -> bool:
    try:
        ipaddress.IPv6Address(candidate.decode())
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class MacAddressConfig:
    confidence: float = 0.9
    dotted: bool = False  # Cisco's "0123.4567.89ab"; off by default, as dots are everywhere in prose


# Each starts on its first separator (rare) rather than on a hex digit (everywhere); the two digits before it are
# checked by a look-behind of fixed width.
_MACS = tuple(
    re.compile(
        rb"%s(?<=[0-9A-Fa-f]{2}%s)[0-9A-Fa-f]{2}(?:%s[0-9A-Fa-f]{2}){4}(?![0-9A-Za-z_:-]|\.[0-9A-Za-z])" % (s, s, s)
    )
    for s in (b":", b"-")
)
_MAC_DOTTED = re.compile(rb"\.(?<=[0-9A-Fa-f]{4}\.)[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![0-9A-Za-z_:-]|\.[0-9A-Za-z])")


@register
class MacAddressDetector(PreparedDetector[MacAddressConfig]):
    name = "mac_address"
    entity = Entity.MAC_ADDRESS
    config_type = MacAddressConfig

    def scan(self, p: Prepared) -> list[Span]:
        spans: list[Span] = []
        for pattern in _MACS:
            self._find(p, pattern, 2, spans)
        if self.config.dotted:
            self._find(p, _MAC_DOTTED, 4, spans)
        return spans

    def _find(self, p: Prepared, pattern: re.Pattern[bytes], back: int, spans: list[Span]) -> None:
        m = pattern.search(p.raw)
        while m is not None:
            start = m.start() - back
            glued = p.word_before(start) or p.raw[start - 1 : start] in (b":", b"-", b".")
            if not glued:
                spans.append(Span(start, m.end(), self.entity, self.config.confidence, self.name))
            m = pattern.search(p.raw, m.end())
