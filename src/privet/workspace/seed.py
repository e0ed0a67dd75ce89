"""Synthetic company data for the manifest's datasets: one SQLite database per system, filled with made-up people.

`seed_company_data` reads only the datasets of a manifest, so it works for any company's manifest:

- every dataset with a system gives its collections to that system's database, ``<folder>/<system>.db``; a collection
  is a table of the same name (the way the SQL connector finds it);
- every leaf field is a column. Nested fields are flattened into columns named by their dotted path
  (``address.city``), the names fulfilment addresses them by; the enclosing object gets no column of its own. An
  object or array field without declared nested fields is one JSON column;
- column types follow ``data_type`` (string, integer, float/decimal, boolean, date, timestamp, binary, object/array;
  anything else is TEXT), primary keys are declared, every identity and reference column is indexed, and every
  table has the restriction flag ``privet_restricted BOOLEAN NOT NULL DEFAULT 0``. No foreign keys are declared:
  references may cross databases, and the fulfilment plan, not the database, orders reads and erasures;
- each person is the same across systems: identity columns hold the person's email, phone number, user ID, cookie and
  device IDs; identities a collection mints as its primary key (an order ID, a device serial) are reused wherever
  another collection carries that identity; a reference column takes its values from the rows it references, so
  collections are filled parents first;
- a timestamp named for an end is often empty, the end not having come: three in four accounts are open, subscribers
  subscribed and devices bound (``closed_at``, ``unsubscribed_at``, ``unbound_at`` ...), while most tickets, chats and
  orders are over (``resolved_at``, ``ended_at``, ``delivered_at`` ...);
- one shared address (``info@example.com``) fills `shared_rows` rows of the first collection that takes an email
  and references nothing, to exercise the "shared identity stops for review" guard.

Everything comes from `seed` (Faker in en_US, en_GB and de_DE, and one `random.Random`): the same manifest and seed
give the same databases byte for byte. Emails use the reserved example.com/.org/.net domains, so no real mailbox
can be reached. Each database is written to a side file and moved into place whole.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import phonenumbers

from privet.manifest.datasets import Dataset, Direction
from privet.manifest.datasets import Field as DatasetField
from privet.manifest.model import Manifest

if TYPE_CHECKING:
    from faker import Faker

LOCALES = ("en_US", "en_GB", "de_DE")
DOMAINS = ("example.com", "example.org", "example.net")
SHARED_ADDRESS = "info@example.com"
RESTRICTED_COLUMN = "privet_restricted"
# Seeded data is dated relative to a fixed day, never the clock, so that it is the same on every run.
ANCHOR = dt.datetime(2025, 1, 1, 12, 0, 0)

# Identity types every person has exactly one value of; the others are minted per row (orders, devices ...).
PERSON_IDENTITIES = ("email", "phone_number", "user_id", "cookie_id", "device_id")

_SQL_TYPES: dict[str, str] = {
    "string": "TEXT",
    "str": "TEXT",
    "text": "TEXT",
    "integer": "INTEGER",
    "int": "INTEGER",
    "float": "REAL",
    "double": "REAL",
    "decimal": "REAL",
    "number": "REAL",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "DATETIME",
    "datetime": "DATETIME",
    "binary": "BLOB",
    "bytes": "BLOB",
    "object": "JSON",
    "array": "JSON",
    "json": "JSON",
}


@dataclass(frozen=True)
class SeededPerson:
    """A made-up person and every identity value the seeded rows hold for them."""

    index: int
    locale: str
    first_name: str
    last_name: str
    email: str
    phone: str
    user_id: str
    device_serials: tuple[str, ...]
    identities: Mapping[str, tuple[Any, ...]]  # identity type -> values, e.g. {"order_id": ("ORD-...", ...)}

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class SeedResult:
    folder: Path
    urls: Mapping[str, str]  # system -> sqlite:///<folder>/<system>.db
    people: tuple[SeededPerson, ...]
    shared_address: str
    shared_collection: str | None  # "dataset.collection" holding the shared address rows; None when none can
    shared_rows: int
    row_counts: Mapping[str, int]  # "dataset.collection" -> rows
    tables: Mapping[str, tuple[str, str]]  # "dataset.collection" -> (system, table)
    skipped: tuple[str, ...]  # what was not seeded, and why

    def person(self, email: str) -> SeededPerson:
        found = next((p for p in self.people if p.email == email), None)
        if found is None:
            raise KeyError(email)
        return found


def connector_settings(result: SeedResult) -> dict[str, dict[str, Any]]:
    """Per system, the settings `privet.connectors.registry.connector_for` takes to reach the seeded database."""
    return {system: {"kind": "sql", "url": url} for system, url in result.urls.items()}


# ---------------------------------------------------------------------------------------------------------------------
# The schema the datasets describe


@dataclass
class _Column:
    name: str  # the field's dotted path
    sql_type: str
    data_type: str  # normalised: a key of _SQL_TYPES, or "" when unknown
    categories: tuple[str, ...]
    identity: str | None
    primary_key: bool
    length: int | None
    parent: tuple[str, str] | None = None  # (collection key, column) its values are copied from
    make: Callable[[_Context], Any] | None = None

    @property
    def indexed(self) -> bool:
        return self.identity is not None or self.parent is not None


@dataclass
class _Table:
    key: str  # "dataset.collection"
    system: str
    name: str
    columns: list[_Column]
    per_person_key: bool = False  # its primary key is a per-person identity: one row per person
    driver: _Column | None = None  # the reference whose parent rows it fans out from

    def column(self, name: str) -> _Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def primary_key(self) -> list[_Column]:
        return [c for c in self.columns if c.primary_key]


def _normal_type(data_type: str | None) -> str:
    text = (data_type or "").strip().lower()
    if text.endswith("[]"):
        return "array"
    return text if text in _SQL_TYPES else ""


def _leaves(fields: Mapping[str, DatasetField], prefix: str = "", inherited: tuple[str, ...] = ()) -> Iterable[_Column]:
    for name, fld in fields.items():
        path = f"{prefix}{name}"
        categories = fld.categories or inherited
        if fld.fields:
            yield from _leaves(fld.fields, path + ".", categories)
            continue
        kind = _normal_type(fld.data_type)
        sql = _SQL_TYPES.get(kind, "TEXT")
        if sql == "TEXT" and fld.length:
            sql = f"VARCHAR({fld.length})"
        yield _Column(path, sql, kind, categories, fld.identity, fld.primary_key, fld.length)


def _tables(datasets: Mapping[str, Dataset], skipped: list[str]) -> dict[str, _Table]:
    tables: dict[str, _Table] = {}
    taken: dict[tuple[str, str], str] = {}  # (system, table) -> collection key
    for dkey, dataset in datasets.items():
        if dataset.system is None:
            skipped.append(f"dataset {dkey}: it names no system, so there is no database to seed")
            continue
        for cname, collection in dataset.collections.items():
            key = f"{dkey}.{cname}"
            columns = list(_leaves(collection.fields))
            if not columns:
                skipped.append(f"{key}: it declares no fields")
                continue
            other = taken.get((dataset.system, cname))
            if other is not None:
                skipped.append(f"{key}: {other} already makes the table {cname!r} in the database of {dataset.system}")
                continue
            taken[(dataset.system, cname)] = key
            tables[key] = _Table(key, dataset.system, cname, columns)
    # References: values flow from the parent into the child ("from" and undirected: the holder is the child).
    for dkey, dataset in datasets.items():
        for cname, path, fld in dataset.walk_fields():
            holder = f"{dkey}.{cname}"
            for ref in fld.references:
                parts = ref.to.split(".")
                target, target_field = ".".join(parts[:2]), ".".join(parts[2:])
                ends = [(holder, ".".join(path)), (target, target_field)]
                child, parent = ends if ref.direction is not Direction.TO else ends[::-1]
                child_table, parent_table = tables.get(child[0]), tables.get(parent[0])
                child_column = child_table.column(child[1]) if child_table else None
                if child_table is None or child_column is None or parent_table is None:
                    continue  # a table or column that is not seeded: the column keeps generated values
                if parent_table.column(parent[1]) is None:
                    skipped.append(f"{holder}.{'.'.join(path)}: its reference {ref.to} names no seeded column")
                elif child_column.parent is None:
                    child_column.parent = parent
    for table in tables.values():
        keys = table.primary_key
        table.per_person_key = len(keys) == 1 and keys[0].parent is None and keys[0].identity in PERSON_IDENTITIES
        table.driver = next((c for c in table.columns if c.parent is not None), None)
    return tables


def _order(tables: Mapping[str, _Table], skipped: list[str]) -> list[_Table]:
    """Parents before children (hard); collections minting an identity before those only carrying it (soft)."""
    hard = {k: {c.parent[0] for c in t.columns if c.parent and c.parent[0] != k} for k, t in tables.items()}
    minters: dict[str, set[str]] = {}
    for key, table in tables.items():
        for c in table.primary_key:
            if c.identity and c.parent is None and c.identity not in PERSON_IDENTITIES:
                minters.setdefault(c.identity, set()).add(key)
    soft = {
        k: {m for c in t.columns if c.identity and not c.primary_key for m in minters.get(c.identity, ()) if m != k}
        for k, t in tables.items()
    }
    done: list[str] = []
    remaining = list(tables)
    while remaining:
        ready = next((k for k in remaining if hard[k] | soft[k] <= set(done)), None)
        ready = ready or next((k for k in remaining if hard[k] <= set(done)), None)
        if ready is None:
            ready = remaining[0]
            skipped.append(f"{ready}: its references form a cycle; references to unseeded rows are left empty")
        remaining.remove(ready)
        done.append(ready)
    return [tables[k] for k in done]


# ---------------------------------------------------------------------------------------------------------------------
# People and values


@dataclass
class _Profile:
    index: int
    locale: str
    first: str
    last: str
    email: str
    phone: str
    dob: dt.date
    street: str
    city: str
    region: str
    postcode: str
    country: str
    language: str
    company: str
    identities: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class _Pools:
    sentences: dict[str, list[str]]
    user_agents: list[str]
    words: list[str]


@dataclass
class _Context:
    rng: random.Random
    pools: _Pools
    person: _Profile
    table: _Table
    counter: int  # 1-based number of the row in its table


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower()) or "user"


class _Minter:
    """Unique identity values, drawn from the one random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, kind: str, locale: str = "en_US") -> str:
        while True:
            value = self._draw(kind, locale)
            if (kind, value) not in self.seen:
                self.seen.add((kind, value))
                return value

    def _phone(self, locale: str) -> str:
        """A mobile number in E.164 that phonenumbers accepts as valid for the locale's country."""
        r = self.rng
        while True:
            if locale.endswith("GB"):
                number = f"+447{r.randrange(10**9):09d}"
            elif locale.endswith("DE"):
                number = f"+491{r.choice('567')}{r.randrange(10**9):09d}"
            else:
                number = f"+1{r.randint(201, 989)}{r.randint(200, 999)}{r.randrange(10**4):04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                return number

    def _draw(self, kind: str, locale: str) -> str:
        r = self.rng
        if kind == "phone_number":
            return self._phone(locale)
        if kind in ("user_id", "cookie_id", "device_id"):
            return str(uuid.UUID(int=r.getrandbits(128), version=4))
        if kind == "device_serial":
            return "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(16))
        if kind == "order_id":
            return f"ORD-{r.randrange(10**10):010d}"
        if kind == "external_id":
            return f"{r.randrange(10**20):021d}"
        return f"{kind}-{r.getrandbits(48):012x}"


def _fakers(seed: int) -> dict[str, Faker]:
    from faker import Faker  # a demo and test tool: imported only when seeding

    fakers = {}
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + i)
        fakers[locale] = fake
    return fakers


def _people(count: int, fakers: Mapping[str, Faker], rng: random.Random, mint: _Minter) -> list[_Profile]:
    people = []
    for index in range(count):
        locale = LOCALES[index % len(LOCALES)]
        fake = fakers[locale]
        first, last = fake.first_name(), fake.last_name()
        language, country = locale.split("_")
        email = f"{_ascii(first)}.{_ascii(last)}{index}@{rng.choice(DOMAINS)}"
        mint.seen.add(("email", email))
        person = _Profile(
            index=index,
            locale=locale,
            first=first,
            last=last,
            email=email,
            phone=mint("phone_number", locale),
            dob=fake.date_of_birth(minimum_age=18, maximum_age=85),
            street=fake.street_address().replace("\n", ", "),
            city=fake.city(),
            region=fake.administrative_unit(),
            postcode=fake.postcode(),
            country=country,
            language=language,
            company=fake.company(),
        )
        person.identities = {
            "email": [person.email],
            "phone_number": [person.phone],
            **{kind: [mint(kind)] for kind in ("user_id", "cookie_id", "device_id")},
        }
        people.append(person)
    return people


def _pools(fakers: Mapping[str, Faker]) -> _Pools:
    sentences: dict[str, list[str]] = {}
    agents: list[str] = []
    for locale, fake in fakers.items():
        sentences[locale] = [fake.sentence(nb_words=10) for _ in range(60)]
        agents += [fake.user_agent() for _ in range(10)]
    words = sorted({w.strip(".").lower() for s in sentences["en_US"] for w in s.split()})
    return _Pools(sentences, agents, words)


def _shared_profile(mint: _Minter) -> _Profile:
    return _Profile(
        index=-1,
        locale="en_US",
        first="Info",
        last="Desk",
        email=SHARED_ADDRESS,
        phone=mint("phone_number"),
        dob=dt.date(1970, 1, 1),
        street="1 Example Plaza",
        city="Springfield",
        region="Illinois",
        postcode="62701",
        country="US",
        language="en",
        company="Example Inc.",
        identities={"email": [SHARED_ADDRESS]},
    )


def _when(rng: random.Random, days: int = 3 * 365) -> str:
    moment = ANCHOR - dt.timedelta(seconds=rng.randrange(days * 86400))
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _address(p: _Profile) -> dict[str, str]:
    return {"street": p.street, "city": p.city, "state": p.region, "postal_code": p.postcode, "country": p.country}


def _sentence(c: _Context) -> str:
    return c.rng.choice(c.pools.sentences[c.person.locale])


def _ip(r: random.Random) -> str:
    return f"{r.randint(11, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randint(1, 254)}"


def _hex(c: _Context, n: int = 32) -> str:
    return f"{c.rng.getrandbits(n * 4):0{n}x}"


_TEXT: Sequence[tuple[str, Callable[[_Context], Any]]] = (
    ("user.name.first", lambda c: c.person.first),
    ("user.name.last", lambda c: c.person.last),
    ("user.name.preferred", lambda c: c.person.first),
    ("user.name.alias", lambda c: f"{c.person.first[:1]}{c.person.last}".lower()),
    ("user.name", lambda c: f"{c.person.first} {c.person.last}"),
    ("user.account.username", lambda c: f"{_ascii(c.person.first)}{c.person.index}"),
    ("user.account.avatar", lambda c: f"https://cdn.example.com/avatars/{_hex(c, 16)}.png"),
    ("user.contact.email", lambda c: c.person.email),
    ("user.contact.phone_number", lambda c: c.person.phone),
    ("user.contact.address.street", lambda c: c.person.street),
    ("user.contact.address.city", lambda c: c.person.city),
    ("user.contact.address.state", lambda c: c.person.region),
    ("user.contact.address.postal_code", lambda c: c.person.postcode),
    ("user.contact.address.country", lambda c: c.person.country),
    ("user.contact.address", lambda c: f"{c.person.street}, {c.person.postcode} {c.person.city}, {c.person.country}"),
    ("user.demographic.date_of_birth", lambda c: c.person.dob.isoformat()),
    ("user.location.imprecise", lambda c: c.person.country),
    ("user.demographic.gender", lambda c: c.rng.choice(("female", "male", "diverse", "undisclosed"))),
    ("user.demographic.language", lambda c: c.person.language),
    ("user.workplace", lambda c: c.person.company),
    ("user.authorization.password", lambda c: "$2b$12$" + _hex(c, 53)),
    ("user.authorization.credentials", lambda c: _hex(c, 40)),
    ("user.unique_id", lambda c: str(uuid.UUID(int=c.rng.getrandbits(128), version=4))),
    ("user.device.ip_address", lambda c: _ip(c.rng)),
    ("user.device.mac_address", lambda c: ":".join(f"{c.rng.randrange(256):02x}" for _ in range(6))),
    ("user.device.browser", lambda c: c.rng.choice(c.pools.user_agents)),
    ("user.device.operating_system", lambda c: c.rng.choice(c.pools.user_agents)),
    ("user.device.name", lambda c: f"{c.person.first}'s {c.rng.choice(c.pools.words)}"),
    ("user.device.model", lambda c: f"{c.rng.choice('ABCDEFGHKMT')}{c.rng.randint(1000, 9999)}"),
    ("user.device.wifi_ssid", lambda c: f"WLAN-{_hex(c, 4).upper()}"),
    ("user.device.log_data", _sentence),
    ("user.behavior.browsing_history", lambda c: f"https://www.example.com/{c.rng.choice(c.pools.words)}"),
    ("user.behavior.referrer_url", lambda c: f"https://search.example.net/?q={c.rng.choice(c.pools.words)}"),
    ("user.behavior.click_record", lambda c: c.rng.choice(("page_view", "click", "add_to_cart", "purchase"))),
    ("user.payment.invoice", lambda c: f"INV-{c.counter:07d}"),
    ("user.payment.method", lambda c: c.rng.choice(("visa", "mastercard", "amex", "paypal", "sepa"))),
    ("user.commercial", lambda c: _hex(c, 10).upper()),
    ("user.content", _sentence),
    ("user.social", _sentence),
)

# Some operational columns have an obvious vocabulary; the rest get a word.
_VOCABULARY: Mapping[str, Sequence[str]] = {
    "provider": ("google", "facebook", "apple", "amazon"),
    "carrier": ("ups", "dhl", "fedex", "royal_mail", "usps"),
    "method": ("card", "paypal", "bank_transfer"),
    "status": ("open", "pending", "closed"),
    "event": ("sent", "delivered", "opened", "clicked", "bounced"),
    "event_type": ("motion", "person", "sound", "doorbell"),
    "reason": ("damaged", "wrong item", "not as described", "changed mind"),
    "campaign": ("spring-sale", "newsletter", "black-friday", "product-launch"),
    "gender": ("female", "male"),
}

_NUMBERS: Sequence[tuple[str, Callable[[random.Random], float]]] = (
    ("user.health_and_medical.body_metrics.height", lambda r: round(r.uniform(150, 198), 1)),
    ("user.health_and_medical.body_metrics.weight", lambda r: round(r.uniform(48, 120), 1)),
    ("user.health_and_medical.body_metrics.body_fat", lambda r: round(r.uniform(8, 38), 1)),
    ("user.health_and_medical.body_metrics.bmi", lambda r: round(r.uniform(18, 33), 1)),
    ("user.health_and_medical", lambda r: round(r.uniform(100, 3500), 1)),
    ("user.childrens.baby.weight", lambda r: round(r.uniform(2.5, 14), 2)),
    ("user.childrens.baby.vital_signs", lambda r: r.randint(70, 160)),
    ("user.payment", lambda r: round(r.uniform(9, 1500), 2)),
    ("user.commercial", lambda r: round(r.uniform(5, 1500), 2)),
)


def _best(categories: Sequence[str], table: Sequence[tuple[str, Any]]) -> Any:
    best: tuple[int, Any] | None = None
    for category in categories:
        for prefix, made in table:
            if (category == prefix or category.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), made)
    return None if best is None else best[1]


# A timestamp named for an end is empty while the end has not come. Most people have not closed their account,
# unsubscribed or unbound their device; most orders have arrived and most tickets and chats are over.
_RELATIONSHIP_ENDS = ("closed", "cancelled", "deleted", "removed", "unbound", "uninstalled", "unlinked",
                      "unsubscribed", "opted_out", "withdrawn", "left")  # fmt: skip
_WORK_ENDS = ("ended", "resolved", "delivered", "completed", "concluded", "finished")


def _ended_share(name: str) -> float | None:
    """The share of rows whose end-named timestamp is set; None for other timestamps (always set)."""
    if name.startswith(_RELATIONSHIP_ENDS):
        return 0.25
    if name.startswith(_WORK_ENDS):
        return 0.85
    return None


def _maker(column: _Column, table: _Table) -> Callable[[_Context], Any]:
    """The value of a plain (not key, identity or reference) column, in the form SQLite stores."""
    kind, cats, name = column.data_type, column.categories, column.name.rsplit(".", 1)[-1]
    if kind in ("integer", "int"):
        number = _best(cats, _NUMBERS)
        if number is not None:
            return lambda c: int(number(c.rng))
        return lambda c: c.rng.randint(0, 5000 if name in ("credits", "points") else 10)
    if kind in ("float", "double", "decimal", "number"):
        number = _best(cats, _NUMBERS) or (lambda r: round(r.uniform(0, 500), 2))
        return lambda c: number(c.rng)
    if kind in ("boolean", "bool"):
        return lambda c: int(c.rng.random() < 0.5)
    if kind == "date":
        if _best(cats, (("user.demographic.date_of_birth", True),)):
            return lambda c: c.person.dob.isoformat()
        return lambda c: _when(c.rng)[:10]
    if kind in ("timestamp", "datetime"):
        share = _ended_share(name)
        if share is not None:
            return lambda c: _when(c.rng) if c.rng.random() < share else None
        return lambda c: _when(c.rng)
    if kind in ("binary", "bytes"):
        return lambda c: c.rng.randbytes(64)
    if kind in ("object", "json"):
        if _best(cats, (("user.contact.address", True),)):
            return lambda c: json.dumps(_address(c.person), ensure_ascii=False)
        if any("preferences" in c for c in cats):
            return lambda c: json.dumps({k: c.rng.random() < 0.5 for k in ("email", "sms", "push")})
        return lambda c: json.dumps({"note": _sentence(c), "value": c.rng.randint(0, 100)}, ensure_ascii=False)
    if kind == "array":
        return lambda c: json.dumps([_sentence(c) for _ in range(c.rng.randint(1, 3))], ensure_ascii=False)
    text = _best(cats, _TEXT)
    if name.endswith("_key"):
        return lambda c: f"{table.name}/{_hex(c, 24)}"
    if name.endswith("_url"):
        return lambda c: f"https://cdn.example.com/{table.name}/{_hex(c, 16)}"
    if name in _VOCABULARY:
        words = _VOCABULARY[name]
        return lambda c: c.rng.choice(words)
    if text is not None:
        made: Callable[[_Context], Any] = text
        if column.length:
            return lambda c: str(made(c))[: column.length]
        return made
    return lambda c: c.rng.choice(c.pools.words)


# ---------------------------------------------------------------------------------------------------------------------
# Rows


@dataclass
class _State:
    rng: random.Random
    mint: _Minter
    pools: _Pools
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # collection key -> rows
    mine: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)  # (collection, person) -> rows
    counters: dict[str, int] = field(default_factory=dict)


def _fanout(rng: random.Random, weights: Sequence[float]) -> int:
    """A count drawn with the given weights (they sum to 1)."""
    draw = rng.random()
    for count, weight in enumerate(weights):
        draw -= weight
        if draw < 0:
            return count
    return len(weights) - 1


def _fill(state: _State, table: _Table, tables: Mapping[str, _Table], people: Sequence[_Profile]) -> None:
    rng = state.rng
    rows = state.rows.setdefault(table.key, [])
    driver = table.driver
    one_to_one = driver is not None and driver.primary_key
    mints = any(c.identity and c.parent is None for c in table.primary_key)
    for person in people:
        parents: list[dict[str, Any] | None]
        if driver is None:
            count = 1 if table.per_person_key else _fanout(rng, (0.4, 0.4, 0.2))
            parents = [None] * count
        else:
            assert driver.parent is not None
            parent_key = driver.parent[0]
            parent_rows = [
                p for p in state.mine.get((parent_key, person.index), []) if p.get(driver.parent[1]) is not None
            ]
            if one_to_one:
                parents = [p for p in parent_rows if rng.random() < 0.6]
            else:
                per_person = tables[parent_key].per_person_key
                weights: tuple[float, ...] = (0.25, 0.55, 0.2)  # rows per parent row
                if per_person:
                    weights = (0.0, 0.35, 0.35, 0.2, 0.1) if mints else (0.3, 0.4, 0.2, 0.1)
                parents = [p for p in parent_rows for _ in range(_fanout(rng, weights))]
        mine = state.mine.setdefault((table.key, person.index), [])
        for parent in parents:
            row = _row(state, table, person, parent)
            rows.append(row)
            mine.append(row)


def _row(state: _State, table: _Table, person: _Profile, parent: dict[str, Any] | None) -> dict[str, Any]:
    rng = state.rng
    counter = state.counters[table.key] = state.counters.get(table.key, 0) + 1
    context = _Context(rng, state.pools, person, table, counter)
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.parent is not None:
            if column is table.driver and parent is not None:
                row[column.name] = parent.get(column.parent[1])
            else:
                candidates = state.mine.get((column.parent[0], person.index), [])
                row[column.name] = rng.choice(candidates).get(column.parent[1]) if candidates else None
        elif column.identity is not None:
            row[column.name] = _identity(state, column, person, counter)
        elif column.primary_key:
            stem = column.name.rsplit(".", 1)[-1].removesuffix("_id").replace("_", "-") or table.name
            row[column.name] = counter if column.sql_type == "INTEGER" else f"{stem}-{counter:06d}"
        else:
            assert column.make is not None
            row[column.name] = column.make(context)
    return row


def _identity(state: _State, column: _Column, person: _Profile, counter: int) -> Any:
    kind = column.identity or ""
    held = person.identities.setdefault(kind, [])
    if kind in PERSON_IDENTITIES and held:
        return held[0]
    if column.primary_key or not held:
        # An identity kept as a number (an integer order number) is numbered like any integer key.
        value: Any = counter if column.sql_type == "INTEGER" else state.mint(kind, person.locale)
        if value not in held:
            held.append(value)
        return value
    return state.rng.choice(held)


def _shared_table(order: Sequence[_Table]) -> _Table | None:
    def takes_email(t: _Table) -> bool:
        return any(c.identity == "email" and not c.primary_key and c.parent is None for c in t.columns)

    return next((t for t in order if takes_email(t) and t.driver is None and not t.per_person_key), None) or next(
        (t for t in order if takes_email(t) and not t.per_person_key), None
    )


# ---------------------------------------------------------------------------------------------------------------------
# Databases


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ddl(table: _Table) -> list[str]:
    columns = [f"{_quote(c.name)} {c.sql_type}{' NOT NULL' if c.primary_key else ''}" for c in table.columns]
    if table.column(RESTRICTED_COLUMN) is None:
        columns.append(f"{_quote(RESTRICTED_COLUMN)} BOOLEAN NOT NULL DEFAULT 0")
    keys = table.primary_key
    if keys:
        columns.append(f"PRIMARY KEY ({', '.join(_quote(c.name) for c in keys)})")
    statements = [f"CREATE TABLE {_quote(table.name)} (\n  " + ",\n  ".join(columns) + "\n)"]
    for c in table.columns:
        if c.indexed and not (c.primary_key and len(keys) == 1):  # a lone primary key is indexed already
            index = f"ix_{table.name}_{c.name}".replace(".", "_")
            statements.append(f"CREATE INDEX {_quote(index)} ON {_quote(table.name)} ({_quote(c.name)})")
    return statements


def _file_name(system: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", system) + ".db"


def _write(path: Path, tables: Sequence[_Table], rows: Mapping[str, list[dict[str, Any]]]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        with conn:
            for table in tables:
                for statement in _ddl(table):
                    conn.execute(statement)
                names = [c.name for c in table.columns]
                insert = (
                    f"INSERT INTO {_quote(table.name)} ({', '.join(map(_quote, names))}) "
                    f"VALUES ({', '.join('?' * len(names))})"
                )
                conn.executemany(insert, [tuple(r[n] for n in names) for r in rows.get(table.key, ())])
    finally:
        conn.close()
    partial.replace(path)


def seed_company_data(
    manifest: Manifest, folder: Path, people: int = 200, seed: int = 7, shared_rows: int = 300
) -> SeedResult:
    """Create `<folder>/<system>.db` for every system that has datasets, filled with `people` made-up people."""
    if people < 1:
        raise ValueError("people must be at least 1")
    skipped: list[str] = []
    tables = _tables(manifest.datasets, skipped)
    order = _order(tables, skipped)
    for table in tables.values():
        for column in table.columns:
            column.make = _maker(column, table)

    rng = random.Random(seed)
    mint = _Minter(rng)
    fakers = _fakers(seed)
    state = _State(rng, mint, _pools(fakers))
    profiles = _people(people, fakers, rng, mint)
    for table in order:
        _fill(state, table, tables, profiles)

    shared = _shared_table(order) if shared_rows > 0 else None
    if shared is not None:
        office = _shared_profile(mint)
        rows = state.rows.setdefault(shared.key, [])
        rows += [_row(state, shared, office, None) for _ in range(shared_rows)]
    elif shared_rows > 0:
        skipped.append(f"the shared address {SHARED_ADDRESS}: no collection takes an email identity")

    folder.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    by_system: dict[str, list[_Table]] = {}
    for table in order:
        by_system.setdefault(table.system, []).append(table)
    for system, system_tables in by_system.items():
        path = folder / _file_name(system)
        _write(path, system_tables, state.rows)
        urls[system] = f"sqlite:///{path.resolve()}"

    return SeedResult(
        folder=folder,
        urls=urls,
        people=tuple(_seeded(p) for p in profiles),
        shared_address=SHARED_ADDRESS,
        shared_collection=shared.key if shared else None,
        shared_rows=shared_rows if shared else 0,
        row_counts={t.key: len(state.rows.get(t.key, ())) for t in tables.values()},
        tables={t.key: (t.system, t.name) for t in tables.values()},
        skipped=tuple(skipped),
    )


def _seeded(p: _Profile) -> SeededPerson:
    identities = {k: tuple(v) for k, v in p.identities.items() if v}
    return SeededPerson(
        index=p.index,
        locale=p.locale,
        first_name=p.first,
        last_name=p.last,
        email=p.email,
        phone=p.phone,
        user_id=identities["user_id"][0],
        device_serials=identities.get("device_serial", ()),
        identities=identities,
    )
