"""Detectors for entities written in words: device serials, person names, dates of birth.

These have no check digit, so they lean on context (a label such as "DOB" or "S/N", a known given name, a cue
such as "my name is") and trade recall for precision openly:

- DEVICE_SERIAL: manufacturer patterns from configuration, a labelled form ("S/N: ..."), and a generic shape of
  2-4 capital letters followed by 8-16 capitals or digits with at least `min_digits` digits. The generic shape also
  matches German VAT numbers ("DE123456789" has 9 digits), some order and coupon codes and short IBANs (the IBAN
  detector wins those on confidence); raise `min_digits`, or turn `generic` off and list manufacturer patterns,
  where that matters.
- PERSON: a capitalised given name from a small embedded list followed by a capitalised surname; an introduction
  ("my name is", "je m'appelle") near the start of a message, a sign-off ("Thanks,", "Viele Grüße,") ending it,
  or a title ("Mr", "Frau", "Mme") anywhere, followed by capitalised words. No model: a rare given name outside
  the list and without a cue is missed, and a listed given name before a capitalised word that is not a surname
  ("Grace Hopper Street") is taken.
- DATE_OF_BIRTH: a date only when a label says it is one ("DOB", "born on", "Geburtsdatum", "né le").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privet.deid.detection import Entity, PreparedDetector, Span, register, resolve_overlaps
from privet.deid.pii_names import AMBIGUOUS_GIVEN_NAMES, GIVEN_NAMES, NOT_SURNAMES
from privet.deid.pii_scan import CAPITAL, Prepared, latin1, occurrences, trie_pattern


@dataclass(frozen=True)
class SerialPattern:
    """A manufacturer's serial-number format, as a regular expression matched on word boundaries."""

    label: str
    pattern: str
    confidence: float = 0.9


@dataclass(frozen=True)
class DeviceSerialConfig:
    patterns: tuple[SerialPattern, ...] = ()
    generic: bool = True
    min_letters: int = 2
    max_letters: int = 4
    min_body: int = 8
    max_body: int = 16
    min_digits: int = 5  # fewer lets coupon codes in ("SPRING2025")
    generic_confidence: float = 0.55
    labelled_confidence: float = 0.85
    labels: tuple[str, ...] = (
        "serial number", "serial no.", "serial no", "serial #", "serial", "s/n", "sn", "seriennummer", "serien-nr.",
        "seriennr.", "numéro de série", "n° de série",
    )  # fmt: skip


@register
class DeviceSerialDetector(PreparedDetector[DeviceSerialConfig]):
    name = "device_serial"
    entity = Entity.DEVICE_SERIAL
    config_type = DeviceSerialConfig

    def __init__(self, config: DeviceSerialConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self._patterns = [(re.compile(rf"\b(?:{p.pattern})\b"), p.confidence) for p in c.patterns]
        # On the shape view; spelt "AA" rather than "A{2}" so that the engine searches for a literal.
        letters = b"A" * c.min_letters + b"A{0,%d}" % (c.max_letters - c.min_letters)
        self._generic = re.compile(letters + b"[A0]{%d,%d}(?![0Aa_-])" % (c.min_body, c.max_body))
        # On the lower-case view: a label, then the serial, looked for only where a label's first letters are.
        self._keys = tuple(sorted({label[:4] for label in c.labels}))
        self._labelled = re.compile(
            latin1(rf"(?:{trie_pattern(c.labels)})(?:[ \t]+(?:is|ist|est|lautet))?[ \t]*[:#=]?[ \t]*")
            + rb"([a-z0-9][a-z0-9-]{4,30}[a-z0-9])(?![a-z0-9_-])"
        )

    def scan(self, p: Prepared) -> list[Span]:
        c = self.config
        found: list[Span] = []
        for key in self._keys:
            for at in occurrences(p.folded, key):
                m = self._labelled.match(p.lower, at)
                if m is not None and not p.word_before(at) and p.shape.count(b"0", m.start(1), m.end(1)) >= 2:
                    found.append(Span(m.start(1), m.end(1), self.entity, c.labelled_confidence, self.name))
        for pattern, confidence in self._patterns:
            found.extend(Span(m.start(), m.end(), self.entity, confidence, self.name) for m in pattern.finditer(p.text))
        if c.generic:
            m = self._generic.search(p.shape)
            while m is not None:
                start, end = m.span()
                glued = p.word_before(start) or p.raw[start - 1 : start] == b"-"
                if not glued and p.shape.count(b"0", start, end) >= c.min_digits:
                    found.append(Span(start, end, self.entity, c.generic_confidence, self.name))
                m = self._generic.search(p.shape, end)
        return resolve_overlaps(found)


_UP = "A-Z\xc0-\xd6\xd8-\xde"
_LOW = "a-z\xdf-\xf6\xf8-\xff"
# "Anna", "McDonald", "O'Neill", "Hans-Henning"
_NAME = rf"[{_UP}](?:'[{_UP}])?(?:[{_LOW}]+|[{_LOW}]?[{_UP}][{_LOW}]+)(?:['-][{_UP}]?[{_LOW}]+)*"
_PARTICLE = r"(?:von|van|de|der|den|du|da|di|del|della|la|le|Le|La|De|Da|Van|Von|zu|ter|dos)"
_NAMES = rf"{_NAME}(?:(?:[ \t]+{_PARTICLE})*[ \t]+{_NAME}){{0,2}}"
_NAME_WORDS = re.compile(latin1(rf"({_NAMES})"))
# On the shape view, searched at the end of each message: capitalised words that end it ("Thanks, Anna Schmidt."),
# where a sign-off's name stands; possessive, so a word is never scanned twice.
_NAME_AT_END = re.compile(rb"(A[aA'-]*+(?<=a)(?: (?:a{1,4} ){0,3}A[aA'-]*+(?<=a)){0,2})[ \t]*[.!]?\s*\Z")
_GAP_BEFORE_NAME = re.compile(latin1(rf"[,:!.]?[ \t\n]+(?=[{_UP}])"))
# On the shape view: a capitalised word followed by one or more others, with at most three short lower-case
# words between them ("Anna Schmidt", "Hans-Henning McDonald", "Stéphanie de la Hardy"). It starts on a literal,
# so the engine only stops at capital letters.
_PAIR_TRIGGER = re.compile(rb"(A[aA'-]*+)(?<=a) (?:a{1,4} ){0,3}A")  # possessive: a word is never scanned twice
_PAIR = re.compile(rb"(A[aA'-]*a)(?: (?:a{1,4} ){0,3}A[aA'-]*a)+")
_PARTICLES = frozenset(latin1(_PARTICLE[3:-1]).split(b"|"))
_COMMON_WORDS = frozenset({"this", "that", "have", "with"})  # too frequent to look for alone
_GIVEN = frozenset(n.lower().encode("latin-1", "replace") for n in GIVEN_NAMES)  # "Małgorzata" is "ma?gorzata"
_AMBIGUOUS = frozenset(n.lower().encode("latin-1", "replace") for n in AMBIGUOUS_GIVEN_NAMES)
_NOT_NAMES = frozenset(latin1(n) for n in NOT_SURNAMES)


@dataclass(frozen=True)
class PersonConfig:
    listed_confidence: float = 0.7  # a listed given name and a surname
    ambiguous_confidence: float = 0.45  # "Will Smith": the given name is also a word
    cued_confidence: float = 0.8  # "my name is ...", "Mr ...", "Thanks, ..."
    introductions: tuple[str, ...] = (
        "my name is", "my name's", "name", "name is", "i am", "i'm", "this is", "mein name ist", "ich heiße",
        "ich bin", "je m'appelle", "je suis", "moi c'est", "ici",
    )  # fmt: skip
    # introductions that also start ordinary sentences ("This is Broken."): they need a full or a listed name
    weak_introductions: tuple[str, ...] = ("i am", "i'm", "this is", "ich bin", "je suis", "ici")
    sign_offs: tuple[str, ...] = (
        "thanks", "thank you", "regards", "best regards", "kind regards", "cheers", "best", "sincerely", "grüße",
        "viele grüße", "gruß", "danke", "cordialement", "merci", "bien à vous",
    )  # fmt: skip
    titles: tuple[str, ...] = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Herr", "Frau", "M.", "Mme", "Mlle")
    introduction_window: int = 100  # introductions are looked for in a message's first characters
    sign_off_window: int = 40  # a signed name, in its last ones


@register
class PersonDetector(PreparedDetector[PersonConfig]):
    name = "person"
    entity = Entity.PERSON
    config_type = PersonConfig

    def __init__(self, config: PersonConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        # Introductions are found through their longest word (a literal search), then checked whole.
        self._introductions: dict[str, list[tuple[str, int, bool]]] = {}
        for phrase in c.introductions:
            # "name" stands for "my name is" and "name:"; "i am" and "this is" are looked for whole
            longest = max(phrase.split(), key=len)
            key = longest if len(longest) >= 4 and longest not in _COMMON_WORDS else phrase
            entry = (phrase, phrase.index(key), phrase in c.weak_introductions)
            self._introductions.setdefault(key, []).append(entry)
        # A sign-off is checked only before a capitalised name that ends its message.
        self._sign_off = re.compile(latin1(rf"(?<![a-z])(?:{trie_pattern(c.sign_offs)})[,!.]?\s+\Z"))
        # Titles are written capitalised, so the engine only stops at a few capital letters.
        self._titled = re.compile(latin1(rf"(?:{trie_pattern(c.titles)})\.?[ \t]+({_NAMES})"))

    def scan(self, p: Prepared) -> list[Span]:
        found: list[Span] = []
        self._introduced(p, found)
        self._signed(p, found)
        self._titles(p, found)
        self._listed(p, found)
        return resolve_overlaps(found)

    def _introduced(self, p: Prepared, found: list[Span]) -> None:
        folded, window = p.folded, self.config.introduction_window
        for key, entries in self._introductions.items():
            for at in occurrences(folded, key):
                for phrase, offset, weak in entries:
                    begin = at - offset
                    if begin < 0 or not folded.startswith(phrase, begin) or p.word_before(begin):
                        continue
                    end = begin + len(phrase)
                    gap = None if p.word_at(end) else _GAP_BEFORE_NAME.match(p.raw, end)
                    if gap is None or begin - p.message_bounds(begin)[0] >= window:
                        continue
                    name = _NAME_WORDS.match(p.raw, gap.end())
                    if name is not None and (not weak or _full_or_listed(p, name.start(1), name.end(1))):
                        self._add(p, name.start(1), name.end(1), self.config.cued_confidence, found)
                    break

    def _signed(self, p: Prepared, found: list[Span]) -> None:
        """A capitalised name that ends its message, after a sign-off."""
        ends = [*(start - 1 for start in p.starts[1:]), len(p.shape)]
        for end in ends:
            m = _NAME_AT_END.search(p.shape, max(0, end - self.config.sign_off_window), end)
            if m is None:
                continue
            start = m.start()
            first_word = p.raw[start : m.end(1)].split(None, 1)[0].rstrip(b".!,")
            if first_word in _NOT_NAMES or p.word_before(start):  # "... Thank you." ends many messages
                continue
            if self._sign_off.search(p.lower, max(0, start - 25), start):
                self._add(p, start, m.end(1), self.config.cued_confidence, found)

    def _titles(self, p: Prepared, found: list[Span]) -> None:
        m = self._titled.search(p.raw)
        while m is not None:
            if not p.word_before(m.start()):
                self._add(p, m.start(1), m.end(1), self.config.cued_confidence, found)
            m = self._titled.search(p.raw, m.end())

    def _listed(self, p: Prepared, found: list[Span]) -> None:
        """A listed given name, capitalised, and capitalised words after it."""
        c, lower = self.config, p.lower
        m = _PAIR_TRIGGER.search(p.shape)
        while m is not None:
            start, first_end = m.span(1)
            given = lower[start:first_end]
            if b"-" in given and given not in _GIVEN:  # "Hans-Henning"
                given = next((part for part in given.split(b"-") if part in _GIVEN), given)
            listed = given in _GIVEN
            if (listed or given in _AMBIGUOUS) and not p.word_before(start):
                pair = _PAIR.match(p.shape, start)
                if pair is not None:
                    end = pair.end()
                    if p.shape.find(b" a", start, end) >= 0:  # lower-case words inside must be particles
                        end = _end_before_non_particle(p, start, end)
                    confidence = c.listed_confidence if listed else c.ambiguous_confidence
                    self._add(p, start, end, confidence, found, single=False)
            m = _PAIR_TRIGGER.search(p.shape, first_end)

    def _add(
        self, p: Prepared, start: int, end: int, confidence: float, found: list[Span], single: bool = True
    ) -> None:
        """Add the name at `start:end` less trailing words that are no names ("Anna Schmidt Thanks")."""
        words = p.raw[start:end].split()
        if not words or words[0] in _NOT_NAMES:
            return
        while len(words) > 1 and (words[-1] in _NOT_NAMES or words[-1] in _PARTICLES):
            words.pop()
            end = p.raw.rindex(words[-1], start, end) + len(words[-1])
        if len(words) > 1 or (single and p.shape[start] == CAPITAL):
            found.append(Span(start, end, self.entity, confidence, self.name))


def _full_or_listed(p: Prepared, start: int, end: int) -> bool:
    return p.raw.find(b" ", start, end) > 0 or p.lower[start:end] in _GIVEN


def _end_before_non_particle(p: Prepared, start: int, end: int) -> int:
    position = start
    for word in p.raw[start:end].split(b" "):
        if word[:1].islower() and word not in _PARTICLES:
            return p.raw.rindex(b" ", start, position)
        position += len(word) + 1
    return end


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "januar|jänner|februar|märz|mai|juni|juli|oktober|dezember|"
    "janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre"
)
_DATE = (
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{4}|[0-9]{2})(?![0-9])"
    rf"|[0-9]{{1,2}}(?:st|nd|rd|th|er|\.)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+[0-9]{{4}}"
    rf"|(?:{_MONTHS})\.?\s+[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s+[0-9]{{4}}"
)


@dataclass(frozen=True)
class DateOfBirthConfig:
    confidence: float = 0.9
    labels: tuple[str, ...] = (
        "date of birth", "dob", "d.o.b.", "d.o.b", "birth date", "birthdate", "birthday", "born on", "born",
        "geburtsdatum", "geb.", "geboren am", "geboren", "date de naissance", "née le", "né le", "nee le", "ne le",
    )  # fmt: skip
    # one of these occurs in every label; a label is looked for only around them
    keys: tuple[str, ...] = ("birth", "born", "dob", "d.o.b", "geb", "naiss", "né le", "née le", "ne le", "nee le")


@register
class DateOfBirthDetector(PreparedDetector[DateOfBirthConfig]):
    name = "date_of_birth"
    entity = Entity.DATE_OF_BIRTH
    config_type = DateOfBirthConfig

    def __init__(self, config: DateOfBirthConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self._pattern = re.compile(
            latin1(rf"(?:{trie_pattern(c.labels)})(?:\s+(?:is|was|ist|war|est|:))?\s*[:=-]?\s*({_DATE})")
        )
        self._keys = c.keys

    def scan(self, p: Prepared) -> list[Span]:
        spans: list[Span] = []
        seen: set[int] = set()
        for key in self._keys:
            for at in occurrences(p.folded, key):
                m = self._pattern.search(p.lower, max(0, at - 14), at + 60)
                if m is not None and m.start(1) not in seen and not p.word_before(m.start()):
                    seen.add(m.start(1))
                    spans.append(Span(m.start(1), m.end(1), self.entity, self.config.confidence, self.name))
        return spans
