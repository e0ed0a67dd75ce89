"""Postal addresses in free text: US street lines, UK postcodes with a street line, German and French streets.

Precision is modest, and the detector says so: an address has no check digit, so anything shaped like "12 Park
Lane" is taken, and unusual street names are missed. Each form is found from a cheap trigger on the shape view
(see `pii_scan`), then matched in full:

- US: house number, up to three words, a USPS street suffix ("Street", "Ave", "Ways"), an optional unit
  ("Apt. 4"), then optionally city, state and ZIP. Trigger: a number followed by a capitalised word ("0 A").
- UK: a postcode ("SW1A 1AA") preceded by a street line with a street word and up to three town/county words.
  Trigger: the inward code ("0AA").
- DE: a word ending in a street word ("Hauptstraße 5", "Gisbert-Müller-Weg 12", "Berliner Str. 3"), a house
  number, then optionally a five-digit PLZ and a town. Trigger: a number after a word ending like a street word.
- FR: a house number and a street type ("12, rue de la Paix"), then optionally a postcode and a town. Trigger:
  a street type after a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privet.deid.detection import Entity, PreparedDetector, Span, register, resolve_overlaps
from privet.deid.pii_names import DE_STREET_ENDINGS, FR_STREET_TYPES, NOT_GERMAN_STREETS, US_STREET_SUFFIXES
from privet.deid.pii_scan import Prepared, latin1, trie_pattern

_UP = "A-Z\xc0-\xd6\xd8-\xde"
_LOW = "a-z\xdf-\xf6\xf8-\xff"
_CAP_WORD = rf"[{_UP}][{_LOW}{_UP}'-]*[{_LOW}]\.?"  # "Main", "McLean", "Roy-la-Forêt", "Mt."
_TOWN_WORD = rf"[{_UP}][{_LOW}{_UP}'-]*[{_LOW}]"  # "Saint-Malo", "JeanBourg"
_TOWN = rf"{_TOWN_WORD}(?:[ -]{_TOWN_WORD}){{0,3}}"
_SUFFIX = trie_pattern(US_STREET_SUFFIXES)

_US_TRIGGER = re.compile(rb"0 A")
_US = re.compile(
    latin1(
        rf"[0-9]{{1,6}}[ \t]+(?:(?:[NSEW]\.?|[0-9]+(?:st|nd|rd|th)|{_CAP_WORD})[ \t]+){{0,3}}{_SUFFIX}(?![\w-])\.?"
        r"(?:,?[ \t]+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Fl\.?|Floor|\#)[ \t]*[\w-]{1,6})?"
        rf"(?P<city>,?[ \t]+{_TOWN},?[ \t]+[A-Z]{{2}},?[ \t]+[0-9]{{5}}(?:-[0-9]{{4}})?(?![\w-]))?"
    )
)
_UK_INWARD = re.compile(rb"0AA(?![0Aa_-])")  # on the shape view
_UK_OUTWARD = re.compile(rb"(?<![0Aa_-])AA?0[A0]? ?\Z")  # on the shape view, ending where the inward code starts
_UK_STREET_LINE = re.compile(
    latin1(
        r"(?:(?:Flat|Studio|Apartment|Unit)[ \t]+[0-9]{1,4}[A-Za-z]?,?[ \t]+)?(?:[0-9]{1,5}[A-Za-z]?,?[ \t]+)?"
        rf"(?:{_CAP_WORD}[ \t]+){{1,3}}{_SUFFIX}\.?,?[ \t]+(?:{_TOWN},?[ \t]+){{0,3}}\Z"
    )
)
# On the lower-case view: a space and a house number after a word ending like a German street word; the
# look-behind keeps the engine from stopping anywhere else.
_DE_TAILS = "|".join(re.escape(t) for t in sorted({e[-2:] for e in DE_STREET_ENDINGS}))
_DE_TRIGGER = re.compile(latin1(rf" [0-9](?<=(?:{_DE_TAILS}) [0-9])"))
_DE_HOUSE_AND_TOWN = re.compile(
    latin1(
        rf"[0-9]{{1,4}}(?:[ \t]?[a-zA-Z](?![\w-])|[-/][0-9]{{1,4}})?(?![\w-])"
        rf"(?P<city>,?[ \t]+[0-9]{{5}}[ \t]+{_TOWN})?"
    )
)
_DE_ENDINGS = tuple(DE_STREET_ENDINGS)
_DE_STREET_WORDS = frozenset({"straße", "strasse", "str.", "weg", "gasse", "allee", "platz", "ring"})
# On the lower-case view: a street type between spaces (the engine stops at spaces only), then a house number
# before it ("12, rue", "3 bis avenue").
_FR_TYPE = re.compile(latin1(rf" (?:{trie_pattern(FR_STREET_TYPES)})[ \t]+"))
_FR_NUMBER = re.compile(rb"(?<![0-9A-Za-z])[0-9]{1,4}(?:[ \t]?(?:bis|ter))?,?\Z")
_FR_TYPE_AT = re.compile(latin1(rf"(?:{trie_pattern(FR_STREET_TYPES)})[ \t]+"))
_FR_AFTER = re.compile(
    latin1(
        rf"(?:(?:de|du|des|la|le|l'|d')[ \t]*){{0,2}}{_CAP_WORD}(?:[ \t]+{_CAP_WORD})*"
        rf"(?P<city>,?[ \t]+[0-9]{{5}}[ \t]+{_TOWN})?"
    )
)


@dataclass(frozen=True)
class PostalAddressConfig:
    confidence: float = 0.75  # a house number and a street word
    full_confidence: float = 0.85  # ... with a city and a ZIP or postcode


@register
class PostalAddressDetector(PreparedDetector[PostalAddressConfig]):
    name = "postal_address"
    entity = Entity.POSTAL_ADDRESS
    config_type = PostalAddressConfig

    def scan(self, p: Prepared) -> list[Span]:
        found: list[Span] = []
        self._us(p, found)
        self._uk(p, found)
        self._de(p, found)
        self._fr(p, found)
        return resolve_overlaps(found) if len(found) > 1 else found

    def _add(self, found: list[Span], start: int, end: int, full: bool) -> None:
        c = self.config
        found.append(Span(start, end, self.entity, c.full_confidence if full else c.confidence, self.name))

    def _us(self, p: Prepared, found: list[Span]) -> None:
        m = _US_TRIGGER.search(p.shape)
        while m is not None:
            start = m.start()
            while start > 0 and m.start() - start < 5 and p.shape[start - 1] == 48:  # back to the number's start
                start -= 1
            street = None if p.word_before(start) or p.raw[start - 1 : start] == b"-" else _US.match(p.raw, start)
            if street is not None:
                self._add(found, start, street.end(), street.group("city") is not None)
            m = _US_TRIGGER.search(p.shape, street.end() if street else m.end())

    def _uk(self, p: Prepared, found: list[Span]) -> None:
        m = _UK_INWARD.search(p.shape)
        while m is not None:
            outward = _UK_OUTWARD.search(p.shape, max(0, m.start() - 5), m.start())
            if outward is not None:
                line = _UK_STREET_LINE.search(p.raw, max(0, outward.start() - 100), outward.start())
                if line is not None and not p.word_before(line.start()):
                    self._add(found, line.start(), m.end(), True)
            m = _UK_INWARD.search(p.shape, m.end())

    def _de(self, p: Prepared, found: list[Span]) -> None:
        m = _DE_TRIGGER.search(p.lower)
        while m is not None:
            number = m.end() - 1
            start = _german_street_start(p, number - 1) if p.folded.endswith(_DE_ENDINGS, 0, number - 1) else None
            house = _DE_HOUSE_AND_TOWN.match(p.raw, number) if start is not None else None
            if start is not None and house is not None:
                self._add(found, start, house.end(), house.group("city") is not None)
            m = _DE_TRIGGER.search(p.lower, house.end() if house else m.end())

    def _fr(self, p: Prepared, found: list[Span]) -> None:
        """A street type after a house number, or without one when a postcode and town follow."""
        m = _FR_TYPE.search(p.lower)
        while m is not None:
            number = _FR_NUMBER.search(p.raw, max(0, m.start() - 10), m.start())
            street = _FR_AFTER.match(p.raw, m.end())
            if street is not None and (number is not None or street.group("city") is not None):
                start = number.start() if number is not None else m.start() + 1
                self._add(found, start, street.end(), street.group("city") is not None)
            m = _FR_TYPE.search(p.lower, street.end() if street else m.end())
        first = _FR_TYPE_AT.match(p.lower)  # a message that starts with the street
        street = _FR_AFTER.match(p.raw, first.end()) if first is not None else None
        if street is not None and street.group("city") is not None:
            self._add(found, 0, street.end(), True)


def _german_street_start(p: Prepared, space: int) -> int | None:
    """Where the street name ending just before `space` starts, if it is a capitalised street name."""
    word_start = p.word_start(space)
    word = p.text[word_start:space]
    if len(word) < 3 or p.shape[word_start] != 65 or word in NOT_GERMAN_STREETS:  # 65: "A", capitalised
        return None
    if word_start >= 2 and word.lower() in _DE_STREET_WORDS:  # "Berliner Straße": take the adjective too
        previous_start = p.word_start(word_start - 1)
        if p.shape[previous_start] == 65:
            return previous_start
    return word_start
