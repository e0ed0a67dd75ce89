"""PII detectors: tables of (text, expected spans) per entity, distractors that must stay quiet, and the API."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.deid import detectors
from privet.deid.detection import REGISTRY, Detector, Span, make_detector, register, resolve_overlaps
from privet.deid.detectors import (
    DeviceSerialDetector,
    PhoneDetector,
    PhoneValidator,
    SerialPattern,
    default_detectors,
    detect_all,
    detect_batch,
)
from privet.deid.pii_checksums import iban_valid, luhn_valid
from privet.deid.pii_columns import ENTITY_CATEGORIES, NAME_HINTS, ColumnScanConfig, classify_column, name_hints
from privet.deid.pii_phone import PhoneConfig
from privet.deid.pii_text import DeviceSerialConfig
from privet.taxonomy.defaults import default_taxonomy


def found(text: str) -> list[tuple[str, str]]:
    return [(span.entity, text[span.start : span.end]) for span in detect_all(text)]


def of(entity: str, text: str) -> list[str]:
    return [value for e, value in found(text) if e == entity]


# (text, expected values of the entity, in order)
EMAILS = [
    ("write to anna.schmidt@example.de please", ["anna.schmidt@example.de"]),
    ("Mail: j.o'neil+support@mail.example.co.uk.", ["neil+support@mail.example.co.uk"]),
    ("two: a@b.io, x_y@sub.domain.org", ["a@b.io", "x_y@sub.domain.org"]),
    ("françoise@exemple.fr", ["françoise@exemple.fr"]),
    ("not an address: user@localhost or @handle or a@b", []),
    ("trailing dot user.@example.com is refused", []),
]
PHONES = [
    ("call me on (415) 555-2671 tomorrow", ["(415) 555-2671"]),
    ("US: 415.555.2671 or +1-415-555-2671x123", ["415.555.2671", "+1-415-555-2671x123"]),
    ("UK +44 20 7946 0958 or 020 7946 0958", ["+44 20 7946 0958", "020 7946 0958"]),
    ("UK +44(0)20 7946 0958", ["+44(0)20 7946 0958"]),
    ("DE +49 30 12345678, 030 12345678, 0171 1234567", ["+49 30 12345678", "030 12345678", "0171 1234567"]),
    ("DE +49 (0) 89 1234567", ["+49 (0) 89 1234567"]),
    ("FR 01 42 68 53 00 ou +33 6 12 34 56 78", ["01 42 68 53 00", "+33 6 12 34 56 78"]),
    ("fake area code (555) 123-4567", []),
    ("order no. 40321187 and ticket #48213", []),
    ("on 2024-03-01, at 12.03.2024, IP 192.168.1.20", []),
    ("card 4111 1111 1111 1111", []),
]
CARDS = [
    ("card 4111 1111 1111 1111, thanks", ["4111 1111 1111 1111"]),
    ("visa 4111-1111-1111-1111", ["4111-1111-1111-1111"]),
    ("amex 3782 822463 10005 and raw 5555555555554444", ["3782 822463 10005", "5555555555554444"]),
    ("maestro 6759 6498 2648", ["6759 6498 2648"]),
    ("fails Luhn 4111 1111 1111 1112", []),
    ("not a network 9111 1111 1111 1111 7", []),
    ("glued abc4111111111111111 or 1,4111111111111111", []),
]
IBANS = [
    ("IBAN DE89 3704 0044 0532 0130 00 please", ["DE89 3704 0044 0532 0130 00"]),
    ("GB82WEST12345698765432.", ["GB82WEST12345698765432"]),
    ("FR1420041010050500013M02606 then more", ["FR1420041010050500013M02606"]),
    ("IBAN DE89 3704 0044 0532 0130 00 THANKS", ["DE89 3704 0044 0532 0130 00"]),
    ("bad check digits DE88 3704 0044 0532 0130 00", []),
    ("unknown country XX89 3704 0044 0532 0130 00", []),
]
IPS = [
    ("router at 192.168.1.20, gateway 10.0.0.1.", ["192.168.1.20", "10.0.0.1"]),
    ("v6 2001:db8::1 and fe80::1ff:fe23:4567:890a", ["2001:db8::1", "fe80::1ff:fe23:4567:890a"]),
    ("octets 256.1.1.1 and 1.2.3", []),
    ("firmware 1.2.3.4, version 2.0.1.7, v1.2.3.4, updated to 3.1.2.45", []),
    ("time 10:30:00 and ratio 3:2", []),
]
MACS = [
    ("MAC 00:1A:2B:3C:4D:5E.", ["00:1A:2B:3C:4D:5E"]),
    ("mac ac-53-94-9c-c7-1f ok", ["ac-53-94-9c-c7-1f"]),
    ("too short 00:1A:2B:3C:4D", []),
]
URLS = [
    ("see https://example.com/help?q=1.", ["https://example.com/help?q=1"]),
    ("(http://x.org/a_(b)) and www.example.org!", ["http://x.org/a_(b)", "www.example.org"]),
    ("bare example.com/support/faq works", ["example.com/support/faq"]),
    ("no scheme example.com alone", []),
]
SERIALS = [
    ("S/N: T8210P2320201234", ["T8210P2320201234"]),
    ("the serial number is 1234-ABCD-5678", ["1234-ABCD-5678"]),
    ("Die Seriennummer lautet E1409P64384612075.", ["E1409P64384612075"]),
    ("device XR2291034871 keeps dropping", ["XR2291034871"]),
    ("code SPRING2025, order ORD-2024-558812, tracking 1Z999AA10123456784", []),
]
ADDRESSES = [
    ("ship to 604 Tammy Wells Apt. 411, Sallyport, WA 21237 please", ["604 Tammy Wells Apt. 411, Sallyport, WA 21237"]),
    ("I live at 1600 Pennsylvania Ave NW.", ["1600 Pennsylvania Ave"]),
    ("UK: 82 Rachel Centers, Taylorshire, L8G 5SQ", ["82 Rachel Centers, Taylorshire, L8G 5SQ"]),
    ("Adresse: Beckmannallee 11, 04341 Ilmenau.", ["Beckmannallee 11, 04341 Ilmenau"]),
    ("Berliner Str. 5a, 10115 Berlin", ["Berliner Str. 5a, 10115 Berlin"]),
    ("31, chemin Daniel Brun, 20361 Roy-la-Forêt", ["31, chemin Daniel Brun, 20361 Roy-la-Forêt"]),
    ("envoyé à rue de Sanchez, 24273 Boutin.", ["rue de Sanchez, 24273 Boutin"]),
    ("During 3 days it failed 2 times", []),
]
PEOPLE = [
    ("Hi, my name is Anna Schmidt and I need help", ["Anna Schmidt"]),
    ("Thanks, Jade Brown", ["Jade Brown"]),
    ("Regards, Inka", ["Inka"]),
    ("Hallo, mein Name ist Hilda Schweitzer.", ["Hilda Schweitzer"]),
    ("Bonjour, je m'appelle Océane Salmon.", ["Océane Salmon"]),
    ("Ask Dr. Müller or Mme Lefèvre", ["Müller", "Lefèvre"]),
    ("Hans-Henning Gute and Stéphanie de la Hardy called", ["Hans-Henning Gute", "Stéphanie de la Hardy"]),
    ("Bradley O'Neill ordered it", ["Bradley O'Neill"]),
    ("This is Broken. I am Happy. Anna and Bob too.", []),
    ("Dear Support Team, Hello Anker", []),
]
BIRTH_DATES = [
    ("DOB: 12.03.1985, account 7", ["12.03.1985"]),
    ("my date of birth is March 12, 1985", ["March 12, 1985"]),
    ("I was born on 3 March 1984.", ["3 March 1984"]),
    ("Geburtsdatum: 1. März 1970", ["1. März 1970"]),
    ("née le 4 mai 1980", ["4 mai 1980"]),
    ("ordered on 2024-03-01, delivered 12/03/2024", []),
]


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        *(("EMAIL", t, e) for t, e in EMAILS),
        *(("PHONE", t, e) for t, e in PHONES),
        *(("CREDIT_CARD", t, e) for t, e in CARDS),
        *(("IBAN", t, e) for t, e in IBANS),
        *(("IP_ADDRESS", t, e) for t, e in IPS),
        *(("MAC_ADDRESS", t, e) for t, e in MACS),
        *(("URL", t, e) for t, e in URLS),
        *(("DEVICE_SERIAL", t, e) for t, e in SERIALS),
        *(("POSTAL_ADDRESS", t, e) for t, e in ADDRESSES),
        *(("PERSON", t, e) for t, e in PEOPLE),
        *(("DATE_OF_BIRTH", t, e) for t, e in BIRTH_DATES),
    ],
)
def test_detects(entity: str, text: str, expected: list[str]) -> None:
    assert of(entity, text) == expected


DISTRACTORS = [
    "Order #112-3456789-1234567 was delivered on 12.03.2024 for $129.99.",
    "The app is on version 2.3.14 and firmware 3.1.2.45; model T2211.",
    "Ticket #48213, tracking 1Z999AA10123456784, coupon WELCOME15, 10:30.",
    "Bestellung 4755951 kam am 28.04.2026, Preis 89,90 €.",
    "It worked fine for about two weeks and then stopped, every 2:30 minutes.",
]


@pytest.mark.parametrize("text", DISTRACTORS)
def test_distractors_stay_quiet(text: str) -> None:
    assert found(text) == []


def test_overlaps_keep_the_more_confident_then_longer_span() -> None:
    spans = [
        Span(0, 10, "A", 0.5, "a"),
        Span(2, 12, "B", 0.9, "b"),
        Span(20, 25, "C", 0.5, "c"),
        Span(20, 28, "D", 0.5, "d"),
    ]
    assert [s.entity for s in resolve_overlaps(spans)] == ["B", "D"]


def test_an_email_domain_is_not_also_a_url() -> None:
    assert found("mail anna@example.com/x now") == [("EMAIL", "anna@example.com")]


def test_spans_are_frozen_and_typed() -> None:
    span = detect_all("call +44 20 7946 0958")[0]
    assert span == Span(5, 21, "PHONE", 0.85, "phone")
    with pytest.raises(AttributeError):
        span.start = 0  # type: ignore[misc]


def test_batch_gives_the_same_spans_as_one_message_at_a_time() -> None:
    texts = [t for table in (EMAILS, PHONES, CARDS, IBANS, IPS, URLS, ADDRESSES, PEOPLE, BIRTH_DATES) for t, _ in table]
    texts += [*DISTRACTORS, "", "\x00 nul bytes \x00 call 020 7946 0958"]
    assert detect_batch(texts) == [detect_all(t) for t in texts]


def test_the_public_names_exist() -> None:
    assert [name for name in detectors.__all__ if not hasattr(detectors, name)] == []


def test_every_builtin_detector_is_registered_once_with_a_typed_config() -> None:
    names = {d.name for d in default_detectors()}
    assert names == set(REGISTRY)
    assert {"email", "phone", "credit_card", "iban", "ip_address", "mac_address", "device_serial"} <= names
    assert {"postal_address", "person", "url", "date_of_birth"} <= names
    for detector in default_detectors():
        assert dataclasses.is_dataclass(detector.config)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(detector.config, "confidence", 0.0)  # noqa: B010


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(PhoneDetector)


def test_make_detector_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="phone"):
        make_detector("telephone")
    assert isinstance(make_detector("phone", PhoneConfig(regions=("DE",))), PhoneDetector)


def test_phone_regions_come_from_the_configuration() -> None:
    german_only = make_detector("phone", PhoneConfig(regions=("DE",)))
    assert german_only.detect("030 12345678 or 020 7946 0958") == [Span(0, 12, "PHONE", 0.85, "phone")]


def test_manufacturer_serial_patterns_and_no_generic_shape() -> None:
    config = DeviceSerialConfig(patterns=(SerialPattern("acme", r"AC-\d{6}"),), generic=False)
    detector = DeviceSerialDetector(config)
    text = "units AC-123456 and XR2291034871"
    assert [text[s.start : s.end] for s in detector.detect(text)] == ["AC-123456"]


@dataclass(frozen=True)
class _TicketConfig:
    prefix: str = "TCK-"


class _TicketDetector(Detector[_TicketConfig]):
    """A plug-in detector that only implements detect(text)."""

    name = "ticket"
    entity = "TICKET"
    config_type = _TicketConfig

    def detect(self, text: str) -> list[Span]:
        at = text.find(self.config.prefix)
        return [] if at < 0 else [Span(at, at + 10, self.entity, 1.0, self.name)]


def test_a_plain_detector_works_alongside_the_builtins() -> None:
    detectors = [*default_detectors(), _TicketDetector()]
    text = "see TCK-000042 from anna@example.com"
    assert [(s.entity, s.start) for s in detect_all(text, detectors)] == [("TICKET", 4), ("EMAIL", 20)]
    assert detect_batch([text, text], detectors) == [detect_all(text, detectors)] * 2


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and iban_valid("GB82WEST12345698765432")
    assert not iban_valid("DE89370400440532013001") and not iban_valid("DE8937040044053201300")


@settings(max_examples=300, deadline=None)
@given(
    plus=st.booleans(),
    digits=st.text(alphabet="0123456789", min_size=4, max_size=15),
    region=st.sampled_from([None, "US", "GB", "DE", "FR", "IT", "BR", "AU"]),
)
def test_phone_validator_agrees_with_phonenumbers(plus: bool, digits: str, region: str | None) -> None:
    number = ("+" if plus else "") + digits
    try:
        expected = phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        expected = False
    assert PhoneValidator().valid(number, region) is expected


def test_phone_validator_agrees_with_phonenumbers_on_formatted_numbers() -> None:
    rng = random.Random(5)
    validator = PhoneValidator()
    for region in ("US", "GB", "DE", "FR", "CA", "IT"):
        example = phonenumbers.example_number(region)
        assert example is not None
        base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        for _ in range(200):
            digits = "".join(c if not c.isdigit() or rng.random() < 0.6 else str(rng.randint(0, 9)) for c in base)
            for dialled_from in (region, None):
                number = digits if dialled_from else f"+{example.country_code} {digits}"
                try:
                    expected = phonenumbers.is_valid_number(phonenumbers.parse(number, dialled_from))
                except phonenumbers.NumberParseException:
                    expected = False
                assert validator.valid(number, dialled_from) is expected, number


# Column classification


def test_values_propose_categories_when_enough_match() -> None:
    emails = ["a@example.com", "b@example.org", "", "c@example.net", "not one"]
    proposals = classify_column("contact", emails)
    assert [(p.category, p.entity, p.matched, p.sampled, p.from_name) for p in proposals] == [
        ("user.contact.email", "EMAIL", 3, 4, False)
    ]
    assert proposals[0].reason == "3 of 4 values look like EMAIL (75%)"


def test_below_the_share_no_proposal_from_values() -> None:
    sample = ["a@example.com", "x", "y", "z"]
    assert classify_column("notes", sample) == []
    assert classify_column("notes", sample, config=ColumnScanConfig(min_share=0.25))[0].category == "user.contact.email"


def test_column_names_hint_and_agree_with_values() -> None:
    proposals = classify_column("customer_phone", ["+44 20 7946 0958", "020 7946 0958"])
    assert [(p.category, p.share, p.from_name) for p in proposals] == [("user.contact.phone_number", 1.0, True)]
    assert [p.category for p in classify_column("dateOfBirth", ["1985-03-12", "12.03.1985"])] == [
        "user.demographic.date_of_birth"
    ]
    assert classify_column("dob", ["1985-03-12"])[0].share == 1.0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("email", ["user.contact.email"]),
        ("e_mail", ["user.contact.email"]),
        ("first_name", ["user.name.first"]),
        ("lastName", ["user.name.last"]),
        ("client_ip", ["user.device.ip_address"]),
        ("wifi_mac", ["user.device.mac_address"]),
        ("device_serial", ["user.device.serial_number"]),
        ("zip", ["user.contact.address.postal_code"]),
        ("created_at", []),
    ],
)
def test_name_hints(name: str, expected: list[str]) -> None:
    assert name_hints(name) == expected


def test_every_proposed_category_exists_in_the_default_taxonomy() -> None:
    categories = default_taxonomy().categories
    proposed = {*ENTITY_CATEGORIES.values(), *(category for _, category in NAME_HINTS)}
    assert proposed - set(categories) == set()
