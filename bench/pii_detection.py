"""PII detection in support-chat messages: privet's detectors side by side with Presidio's pattern recognizers.

.venv/bin/python bench/pii_detection.py [--messages N] [--seed S] [--skip-presidio]

Both run in this process on the same messages from bench/pii_corpus.py, on one core, taking turns on chunks of
500 messages so that other work on the machine slows them alike. Presidio (a bench-only install, not a privet
dependency) runs offline: a no-op NLP engine instead of spaCy, only the recognizers for entities privet also
finds, and tldextract pointed at its bundled suffix list; the network is switched off for the whole run so that
nothing can download. Both outputs go through the same overlap resolution (higher score,
then longer span). A prediction matches a label of the same entity when their overlap covers at least half of
the longer of the two; each label matches at most one prediction.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pii_corpus import Message, generate
from privet.deid.detection import PreparedDetector, Span, resolve_overlaps
from privet.deid.detectors import default_detectors, detect_all, detect_batch
from privet.deid.pii_scan import prepare_batch

STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS")
PRESIDIO_ENTITIES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "MAC_ADDRESS": "MAC_ADDRESS",
    "URL": "URL",
    "DATE_TIME": "DATE_OF_BIRTH",  # Presidio finds every date; privet only labelled dates of birth
}

Found = list[tuple[int, int, str]]


def switch_off_network() -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("network access is switched off in this benchmark")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    socket.getaddrinfo = refuse


def presidio_engine() -> Callable[[str], Found]:
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        MacAddressRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    # The e-mail recognizer asks tldextract for the domain; by default that fetches the public-suffix list.
    offline = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
    email_recognizer.tldextract = SimpleNamespace(extract=offline)  # type: ignore[attr-defined,assignment]
    recognizers = [
        EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(), IpRecognizer(),
        MacAddressRecognizer(), UrlRecognizer(), DateRecognizer(),
    ]  # fmt: skip
    engine = AnalyzerEngine(
        registry=RecognizerRegistry(recognizers=recognizers),
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
        supported_languages=["en"],
    )
    entities = list(PRESIDIO_ENTITIES)

    def analyze(text: str) -> Found:
        results = engine.analyze(text=text, language="en", entities=entities)
        spans = [Span(r.start, r.end, PRESIDIO_ENTITIES[r.entity_type], r.score, "presidio") for r in results]
        return [(s.start, s.end, s.entity) for s in resolve_overlaps(spans)]

    return analyze


def privet_single(texts: Sequence[str]) -> list[Found]:
    return [[(s.start, s.end, s.entity) for s in detect_all(text)] for text in texts]


def privet_batch(texts: Sequence[str]) -> list[Found]:
    return [[(s.start, s.end, s.entity) for s in spans] for spans in detect_batch(texts)]


Engine = Callable[[Sequence[str]], list[Found]]


def interleaved(
    engines: dict[str, tuple[Engine, int]], messages: Sequence[Message]
) -> dict[str, tuple[float, list[Found]]]:
    """Messages per second of each engine and its spans. The engines take turns on chunks of 500 messages, so
    that other work on the machine slows them alike; each chunk counts the best of the engine's repeats."""
    seconds = dict.fromkeys(engines, 0.0)
    found: dict[str, list[Found]] = {name: [] for name in engines}
    for first in range(0, len(messages), 500):
        texts = [m.text for m in messages[first : first + 500]]
        for name, (engine, repeats) in engines.items():
            best, result = float("inf"), []
            for _ in range(repeats):
                started = time.perf_counter()
                result = engine(texts)
                best = min(best, time.perf_counter() - started)
            seconds[name] += best
            found[name] += result
    return {name: (len(messages) / seconds[name], found[name]) for name in engines}


def score(messages: Sequence[Message], found: Sequence[Found]) -> dict[str, list[int]]:
    """Per entity: [matched, predicted, labelled]."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for message, predictions in zip(messages, found, strict=True):
        for _, _, entity in predictions:
            counts[entity][1] += 1
        used: set[int] = set()
        for label in message.labels:
            counts[label.entity][2] += 1
            for i, (start, end, entity) in enumerate(predictions):
                overlap = min(end, label.end) - max(start, label.start)
                if (
                    i not in used
                    and entity == label.entity
                    and overlap * 2 >= max(end - start, label.end - label.start)
                ):
                    used.add(i)
                    counts[entity][0] += 1
                    break
    return counts


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:6.1%}" if denominator else "     -"


def per_detector_cost(messages: Sequence[Message]) -> list[tuple[str, float]]:
    """Microseconds per message each detector spends on prepared batches of 200 (as detect_batch runs them)."""
    texts = [m.text for m in messages]
    batches = [prepare_batch(texts[i : i + 200]) for i in range(0, len(texts), 200)]
    costs = []
    for detector in default_detectors():
        started = time.perf_counter()
        for batch in batches:
            cast(PreparedDetector[Any], detector).scan(batch)
        costs.append((detector.name, (time.perf_counter() - started) / len(texts) * 1e6))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-presidio", action="store_true")
    args = parser.parse_args()
    print(f"$ .venv/bin/python bench/pii_detection.py --messages {args.messages} --seed {args.seed}")
    switch_off_network()

    messages = generate(args.messages, args.seed)
    mean = sum(len(m.text) for m in messages) / len(messages)
    labels = sum(len(m.labels) for m in messages)
    print(f"corpus: {len(messages):,} messages, mean {mean:.0f} characters, {labels:,} labelled entities\n")

    for m in messages[:500]:  # warm up: import-time work and per-region phone metadata are not throughput
        detect_all(m.text)
    engines: dict[str, tuple[Engine, int]] = {"privet": (privet_batch, 3), "privet single": (privet_single, 2)}
    if not args.skip_presidio:
        try:
            presidio = presidio_engine()
        except ImportError as exc:
            raise SystemExit(f"Presidio is not installed ({exc.name}): `.venv/bin/pip install presidio-analyzer` to "
                             "compare with it, or pass --skip-presidio") from None  # fmt: skip
        for m in messages[:20]:
            presidio(m.text)
        engines["presidio"] = (lambda texts: [presidio(t) for t in texts], 1)
    load_before = os.getloadavg()[0]
    measured = interleaved(engines, messages)
    load_after = os.getloadavg()[0]
    rates = {name: rate for name, (rate, _) in measured.items()}
    assert measured["privet"][1] == measured["privet single"][1], "detect_batch and detect_all disagree"
    results = {name: score(messages, measured[name][1]) for name in measured if name != "privet single"}

    print(f"load average (2 cores, other work included) {load_before:.1f} before, {load_after:.1f} after\n")
    print("throughput, one core                              messages/s")
    print(f"  privet detect_batch (11 detectors)             {rates['privet']:>10,.0f}")
    print(f"  privet detect_all, one message per call        {rates['privet single']:>10,.0f}")
    if "presidio" in rates:
        print(f"  Presidio pattern recognizers (8), per message  {rates['presidio']:>10,.0f}")
        print(f"  privet detect_batch / Presidio                 {rates['privet'] / rates['presidio']:>9,.0f}x")

    names = list(results)
    header = "".join(f" | {name:>8} P      R" for name in names)
    print(f"\nentity             labels{header}")
    entities = sorted(
        {e for counts in results.values() for e in counts} | {lb.entity for m in messages for lb in m.labels}
    )
    totals = {name: [0, 0, 0] for name in names}
    structured = {name: [0, 0, 0] for name in names}
    for entity in entities:
        gold = results["privet"][entity][2]
        row = f"{entity:<18} {gold:>6}"
        for name in names:
            tp, predicted, labelled = results[name][entity]
            covered = name == "privet" or entity in PRESIDIO_ENTITIES.values()
            row += f" | {ratio(tp, predicted)} {ratio(tp, labelled)}" if covered else " |      n/a      "
            for bucket in (totals, structured) if entity in STRUCTURED else (totals,):
                if covered:
                    bucket[name] = [a + b for a, b in zip(bucket[name], (tp, predicted, labelled), strict=True)]
        print(row)
    for title, bucket in (("structured (5)", structured), ("all covered", totals)):
        row = f"{title:<18} {bucket['privet'][2]:>6}"
        for name in names:
            tp, predicted, labelled = bucket[name]
            row += f" | {ratio(tp, predicted)} {ratio(tp, labelled)}"
        print(row)
    if "presidio" in results:
        print("(Presidio DATE_TIME counts as DATE_OF_BIRTH; it has no pattern recognizer for the n/a rows)")

    print("\nprivet cost per detector in detect_batch, microseconds per message")
    for name, micros in per_detector_cost(messages):
        print(f"  {name:<16} {micros:6.1f}")


if __name__ == "__main__":
    main()
