"""PII detection in free text: spans, the detector base classes, the registry, and overlap resolution.

A detector is a small class with a `name`, the `entity` it finds, and a frozen, typed configuration. It is pure:
given a string it returns spans, and never reads a file, a model or the network. Detectors are cheap to call on
text that holds nothing for them: each starts with a pre-filter (a substring test or a literal search) before any
pattern or validation runs, and the built-in ones share one prepared view of the message (see `pii_scan`). That
is what keeps `detect_all` fast on chat-sized messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from privet.deid.pii_scan import Prepared, prepare

ConfigT = TypeVar("ConfigT")


class Entity(StrEnum):
    """The entities privet's built-in detectors find. Plug-in detectors may name others (any string)."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN = "IBAN"
    IP_ADDRESS = "IP_ADDRESS"
    MAC_ADDRESS = "MAC_ADDRESS"
    DEVICE_SERIAL = "DEVICE_SERIAL"
    POSTAL_ADDRESS = "POSTAL_ADDRESS"
    PERSON = "PERSON"
    URL = "URL"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"


class Span(NamedTuple):
    """`text[start:end]` is an `entity`, found by `detector` with `confidence` in [0, 1].

    A named tuple rather than a frozen dataclass: it is as immutable, and creating one costs a fifth as much,
    which matters at tens of thousands of messages a second.
    """

    start: int
    end: int
    entity: str
    confidence: float
    detector: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


class Detector(ABC, Generic[ConfigT]):
    name: ClassVar[str]
    entity: ClassVar[str]
    config_type: ClassVar[type[Any]]
    prepared: ClassVar[bool] = False  # has `scan(Prepared)`; a class flag is cheaper to test than isinstance

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.config_type()

    @abstractmethod
    def detect(self, text: str) -> list[Span]:
        """Every occurrence in `text`, in any order; spans of one detector never overlap."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


class PreparedDetector(Detector[ConfigT]):
    """A detector that works on the prepared views of a message, which `detect_all` builds once for all."""

    prepared = True

    def detect(self, text: str) -> list[Span]:
        return self.scan(prepare(text))

    @abstractmethod
    def scan(self, prepared: Prepared) -> list[Span]:
        """Every occurrence in `prepared.text`, in any order; spans of one detector never overlap."""


DetectorType = type[Detector[Any]]
REGISTRY: dict[str, DetectorType] = {}
_defaults: list[tuple[Detector[Any], ...]] = []  # the instances detect_all uses by default, built once


def register(cls: DetectorType) -> DetectorType:
    """Class decorator: make a detector known by its `name` (and part of the default set)."""
    if cls.name in REGISTRY:
        raise ValueError(f"a PII detector named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    _defaults.clear()
    return cls


def default_detectors() -> tuple[Detector[Any], ...]:
    """One instance of every registered detector, with its default configuration."""
    if not _defaults:
        _defaults.append(tuple(cls() for cls in REGISTRY.values()))
    return _defaults[0]


def make_detector(name: str, config: Any = None) -> Detector[Any]:
    cls = REGISTRY.get(name)
    if cls is None:
        raise KeyError(f"no PII detector {name!r}; use one of {', '.join(sorted(REGISTRY))}")
    return cls(config)


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep the best of overlapping spans (higher confidence, then longer), in text order.

    One pass over the spans sorted by start: a span that overlaps the last one kept replaces it when it is
    better, and is dropped otherwise.
    """
    kept: list[Span] = []
    for span in sorted(spans):
        if kept and span.start < kept[-1].end:
            last = kept[-1]
            if (span.confidence, span.end - span.start) > (last.confidence, last.end - last.start):
                kept[-1] = span
            continue
        kept.append(span)
    return kept
