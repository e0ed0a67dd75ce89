"""A labelled corpus of synthetic support-chat messages for PII detection benchmarks.

.venv/bin/python bench/pii_corpus.py [N] [--seed S]   # prints N messages with their labels

Messages are built from templates in English, German and French, filled by Faker in the en_US, en_GB, de_DE and
fr_FR locales. Every embedded entity is recorded with its exact character offsets while the text is assembled, so
labels are true by construction. Distractors that look like identifiers (order and ticket numbers, prices,
dates that are not birth dates, version strings including dotted quads, model numbers, tracking numbers, coupon
codes, times) are mixed in. Phone numbers are drawn until `phonenumbers` accepts them for the locale's country,
as a customer's real number would be; Faker also invents numbers no country has allocated. Deterministic for a
given seed.
"""

from __future__ import annotations

import random
import re
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from faker import Faker

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
REGION = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR"}


@dataclass(frozen=True)
class Label:
    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class Message:
    text: str
    labels: tuple[Label, ...]
    locale: str


# Slots: an upper-case name in braces. Entity slots are labelled; the rest are distractors or filler.
ENTITY_SLOTS = {
    "EMAIL": "EMAIL",
    "PHONE": "PHONE",
    "CARD": "CREDIT_CARD",
    "IBAN": "IBAN",
    "IP": "IP_ADDRESS",
    "MAC": "MAC_ADDRESS",
    "SERIAL": "DEVICE_SERIAL",
    "LSERIAL": "DEVICE_SERIAL",
    "ADDRESS": "POSTAL_ADDRESS",
    "PERSON": "PERSON",
    "FIRST": "PERSON",
    "URL": "URL",
    "DOB": "DATE_OF_BIRTH",
}

OPENERS = {
    "en": ["Hi,", "Hello,", "Hi there,", "Hello support,", "Hi, my name is {PERSON}.", "Hello, this is {PERSON}.",
           "Hey,", "Good morning,", "Hi, I'm {PERSON} and I need help.", "Dear support team,"],
    "de": ["Hallo,", "Guten Tag,", "Hallo, mein Name ist {PERSON}.", "Sehr geehrtes Support-Team,", "Hallo zusammen,"],
    "fr": ["Bonjour,", "Bonjour, je m'appelle {PERSON}.", "Bonsoir,", "Madame, Monsieur,", "Bonjour, ici {PERSON}."],
}  # fmt: skip

CLOSERS = {
    "en": ["Thanks, {FIRST}", "Thanks!", "Regards, {PERSON}", "Cheers, {FIRST}", "Thank you.", "Best, {FIRST}", ""],
    "de": ["Danke, {FIRST}", "Viele Grüße, {PERSON}", "Danke!", "Gruß, {FIRST}", ""],
    "fr": ["Merci, {FIRST}", "Cordialement, {PERSON}", "Merci d'avance.", ""],
}

BODY = {
    "en": [
        "You can reach me at {EMAIL} or on {PHONE}.",
        "My email is {EMAIL}, please send the invoice there.",
        "Please call me back on {PHONE} after {TIME}.",
        "My phone number changed to {PHONE}, can you update my account?",
        "I paid with card {CARD} but order {ORDER} still shows unpaid.",
        "The refund of {PRICE} should go to IBAN {IBAN} instead of the card.",
        "I was charged {PRICE} twice on my card {CARD}.",
        "Please refund to my bank account {IBAN}.",
        "The camera is at {IP} on my network but the app can't see it.",
        "My router assigned {IP} and the MAC is {MAC}.",
        "The device MAC address is {MAC}, firmware {VERSION}.",
        "It connects as {IP} and then drops after {TIME}.",
        "The serial number is {LSERIAL} and it's still under warranty.",
        "Unit {SERIAL} stopped charging after the update to {VERSION}.",
        "S/N: {LSERIAL}, bought on {DATE} for {PRICE}.",
        "My vacuum {SERIAL} keeps saying the bin is full.",
        "Please ship the replacement to {ADDRESS}.",
        "My new address is {ADDRESS}, the old one is wrong.",
        "The parcel was sent to {ADDRESS} but never arrived, tracking {TRACKING}.",
        "The account is under my wife's name, {PERSON}.",
        "{PERSON} ordered it for me with order {ORDER}.",
        "For verification, my date of birth is {DOB}.",
        "DOB: {DOB}, account email {EMAIL}.",
        "I was born on {DOB} if you need it for the check.",
        "The manual at {URL} says something different.",
        "I found this on {URL} but it didn't help.",
        "Order {ORDER} was delivered on {DATE} but the box was empty.",
        "I bought model {MODEL} for {PRICE} on {DATE}.",
        "The app is on version {VERSION} and my phone is up to date.",
        "Ticket {TICKET} was closed without an answer.",
        "I tried the code {COUPON} but it gave no discount.",
        "The light blinks red three times, then twice, every {TIME} minutes.",
        "I already reset it twice and reinstalled the app.",
        "It worked fine for about two weeks and then stopped.",
        "Can you tell me when the firmware fix will be released?",
        "The battery shows {PERCENT} but dies within an hour.",
        "Please delete my account and all recordings, order {ORDER} is done.",
        "Delivery was expected on {DATE}, it's now {TIME} and nothing yet.",
    ],
    "de": [
        "Sie erreichen mich unter {PHONE} oder per E-Mail an {EMAIL}.",
        "Meine neue Adresse ist {ADDRESS}.",
        "Bitte die Erstattung von {PRICE} auf mein Konto {IBAN} überweisen.",
        "Die Seriennummer lautet {LSERIAL}, gekauft am {DATE}.",
        "Die Kamera hat die IP {IP}, aber die App findet sie nicht.",
        "Geburtsdatum: {DOB}, Bestellung {ORDER}.",
        "Bestellung {ORDER} wurde am {DATE} geliefert, aber der Akku ist defekt.",
        "Ich habe {PRICE} mit der Karte {CARD} bezahlt.",
        "Das Gerät läuft mit Firmware {VERSION} und startet ständig neu.",
        "Bitte rufen Sie mich unter {PHONE} zurück.",
        "Das Paket ging an {ADDRESS}, Sendungsnummer {TRACKING}.",
        "Der Saugroboter zeigt seit {DATE} einen Fehler an.",
    ],
    "fr": [
        "Vous pouvez me joindre au {PHONE} ou à {EMAIL}.",
        "Ma nouvelle adresse est {ADDRESS}.",
        "Merci de rembourser {PRICE} sur mon compte {IBAN}.",
        "Le numéro de série est {LSERIAL}, acheté le {DATE}.",
        "La caméra a l'adresse {IP} mais l'application ne la voit pas.",
        "Date de naissance : {DOB}, commande {ORDER}.",
        "La commande {ORDER} est arrivée le {DATE} sans chargeur.",
        "J'ai payé {PRICE} avec la carte {CARD}.",
        "L'appareil est en version {VERSION} et redémarre sans cesse.",
        "Rappelez-moi au {PHONE} s'il vous plaît.",
        "Le colis a été envoyé à {ADDRESS}, suivi {TRACKING}.",
    ],
}

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}

_SLOT = re.compile(r"\{([A-Z]+)\}")


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {}
        for offset, locale in enumerate(LOCALES):
            fake = Faker(locale)
            fake.seed_instance(seed * 31 + offset)
            self.fakers[locale] = fake

    def message(self) -> Message:
        rng = self.rng
        locale = rng.choice(LOCALES)
        language = {"de_DE": "de", "fr_FR": "fr"}.get(locale, "en") if rng.random() < 0.5 else "en"
        target = max(60, int(rng.gauss(108, 35)))
        parts = [rng.choice(OPENERS[language])]
        body = BODY[language]
        while sum(len(p) + 1 for p in parts) < target:
            parts.append(rng.choice(body))
        parts.append(rng.choice(CLOSERS[language]))
        return self._fill(" ".join(p for p in parts if p), locale, language)

    def _fill(self, template: str, locale: str, language: str) -> Message:
        text: list[str] = []
        labels: list[Label] = []
        length = 0
        position = 0
        for m in _SLOT.finditer(template):
            literal = template[position : m.start()]
            text.append(literal)
            length += len(literal)
            value = self._value(m.group(1), locale, language)
            if m.group(1) in ENTITY_SLOTS:
                labels.append(Label(length, length + len(value), ENTITY_SLOTS[m.group(1)]))
            text.append(value)
            length += len(value)
            position = m.end()
        text.append(template[position:])
        return Message("".join(text), tuple(labels), locale)

    def _value(self, slot: str, locale: str, language: str) -> str:
        fake, rng = self.fakers[locale], self.rng
        makers: dict[str, Callable[[], str]] = {
            "EMAIL": lambda: rng.choice([fake.email, fake.free_email, fake.company_email])(),
            "PHONE": lambda: self._phone(locale),
            "CARD": self._card,
            "IBAN": lambda: self._iban(locale),
            "IP": lambda: fake.ipv6() if rng.random() < 0.2 else fake.ipv4(),
            "MAC": self._mac,
            "SERIAL": self._generic_serial,
            "LSERIAL": lambda: rng.choice([self._generic_serial, self._other_serial])(),
            "ADDRESS": lambda: fake.address().replace("\n", ", "),
            "PERSON": lambda: f"{fake.first_name()} {fake.last_name()}",
            "FIRST": fake.first_name,
            "URL": lambda: rng.choice([fake.url, fake.uri])(),
            "DOB": lambda: self._date(locale, language, birth=True),
            "DATE": lambda: self._date(locale, language, birth=False),
            "ORDER": self._order,
            "PRICE": lambda: rng.choice(
                [
                    f"${rng.randint(5, 499)}.{rng.randint(0, 99):02d}",
                    f"€{rng.randint(5, 499)},{rng.randint(0, 99):02d}",
                    f"{rng.randint(5, 499)},{rng.choice(['00', '99', '90'])} €",
                    f"£{rng.randint(5, 499)}.99",
                ]
            ),
            "VERSION": lambda: rng.choice(
                [
                    f"v{rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}",
                    f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(10, 250)}",
                    f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
                ]
            ),
            "MODEL": lambda: f"{rng.choice('TAE')}{rng.randint(1000, 9999)}",
            "TICKET": lambda: f"#{rng.randint(10000, 999999)}",
            "TRACKING": lambda: rng.choice(
                [
                    "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)),
                    "00340" + "".join(rng.choices(string.digits, k=15)),
                    "JJD" + "".join(rng.choices(string.digits, k=18)),
                ]
            ),
            "COUPON": lambda: rng.choice(["SAVE10", "WELCOME15", "SPRING2025", "BLACKFRIDAY24", "FREESHIP"]),
            "TIME": lambda: f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45'])}",
            "PERCENT": lambda: f"{rng.randint(5, 100)}%",
        }
        return makers[slot]()

    def _phone(self, locale: str) -> str:
        fake, region = self.fakers[locale], REGION[locale]
        for _ in range(200):
            candidate = fake.phone_number()
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return candidate
        raise RuntimeError(f"no valid phone number from Faker for {locale}")

    def _card(self) -> str:
        rng = self.rng
        kind = rng.choice(["visa16", "mastercard", "amex", "discover", "visa16", "mastercard", "jcb16", "maestro"])
        digits = self.fakers["en_US"].credit_card_number(card_type=kind)
        style = rng.random()
        if style < 0.4:
            return digits
        sep = " " if style < 0.8 else "-"
        if len(digits) == 15:
            return sep.join([digits[:4], digits[4:10], digits[10:]])
        return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))

    def _iban(self, locale: str) -> str:
        iban: str = self.fakers[locale].iban()
        if self.rng.random() < 0.5:
            return iban
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))

    def _mac(self) -> str:
        mac: str = self.fakers["en_US"].mac_address()
        style = self.rng.random()
        if style < 0.3:
            return mac.upper()
        if style < 0.5:
            return mac.upper().replace(":", "-")
        return mac

    def _generic_serial(self) -> str:
        rng = self.rng
        letters = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 4)))
        body = [
            *rng.choices(string.digits, k=rng.randint(6, 10)),
            *rng.choices(string.ascii_uppercase, k=rng.randint(0, 3)),
        ]
        rng.shuffle(body)
        return letters + "".join(body)

    def _other_serial(self) -> str:
        rng = self.rng

        def some(alphabet: str, k: int) -> str:
            return "".join(rng.choices(alphabet, k=k))

        digits, letters = string.digits, string.ascii_uppercase
        return rng.choice(
            [
                f"{rng.choice('TAE')}{some(digits, 4)}{rng.choice('PNKX')}{some(digits, 11)}",
                f"{some(digits, 4)}-{some(letters, 4)}-{some(digits, 4)}",
                some(digits + "ABCDEF", 14),
            ]
        )

    def _date(self, locale: str, language: str, birth: bool) -> str:
        rng = self.rng
        if birth:
            day = self.fakers[locale].date_of_birth(minimum_age=18, maximum_age=85)
        else:
            day = self.fakers[locale].date_between(start_date="-2y", end_date="today")
        month_name = MONTHS[language][day.month - 1]
        if locale == "en_US":
            forms = [
                f"{day.month:02d}/{day.day:02d}/{day.year}",
                f"{month_name} {day.day}, {day.year}",
                day.isoformat(),
            ]
        elif language == "de":
            forms = [f"{day.day:02d}.{day.month:02d}.{day.year}", f"{day.day}. {month_name} {day.year}"]
        elif language == "fr":
            forms = [f"{day.day:02d}/{day.month:02d}/{day.year}", f"{day.day} {month_name} {day.year}"]
        else:
            forms = [f"{day.day:02d}/{day.month:02d}/{day.year}", f"{day.day} {month_name} {day.year}", day.isoformat()]
        return rng.choice(forms)

    def _order(self) -> str:
        rng = self.rng
        return rng.choice([
            f"#{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}",
            f"no. {rng.randint(10000000, 99999999)}",
            f"ORD-{rng.randint(2021, 2025)}-{rng.randint(100000, 999999)}",
            f"INV{rng.randint(2021, 2025)}-{rng.randint(10000, 99999)}",
            f"{rng.randint(100000, 9999999)}",
        ])  # fmt: skip


def generate(n: int, seed: int = 7) -> list[Message]:
    generator = Generator(seed)
    return [generator.message() for _ in range(n)]


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv and argv[0].isdigit() else 10
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 7
    messages = generate(n, seed)
    for message in messages:
        print(f"[{message.locale}] {message.text}")
        for label in message.labels:
            print(f"    {label.entity:15} {message.text[label.start : label.end]!r}")
    print(f"mean length {sum(len(m.text) for m in messages) / len(messages):.0f} characters")


if __name__ == "__main__":
    main(sys.argv[1:])
