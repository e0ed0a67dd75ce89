"""Who processes data, where it comes from, where it lives and where it goes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from privet.manifest.base import Entry, Keyed, Model, Sourced


class Contact(Model):
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    address: str | None = None


class EntityRole(StrEnum):
    CONTROLLER = "controller"
    JOINT_CONTROLLER = "joint_controller"
    PROCESSOR = "processor"
    REPRESENTATIVE = "representative"


class LegalEntity(Entry):
    address: str = ""
    country: str = ""
    roles: tuple[EntityRole, ...] = (EntityRole.CONTROLLER,)
    contact: Contact = Contact()
    lead: bool = False  # the entity that takes care of all data-protection matters for the joint controllers


class Authority(Entry):
    jurisdictions: tuple[str, ...] = ()
    contact: Contact = Contact()


class DisputeResolver(Entry):
    contact: Contact = Contact()
    free_of_charge: bool = True
    jurisdictions: tuple[str, ...] = ()


class Organisation(Sourced):
    name: str
    legal_entities: Keyed[LegalEntity]
    dpo: Contact | None = None
    general_contact: Contact | None = None
    representatives: Keyed[LegalEntity] = Field(default_factory=dict)
    authorities: Keyed[Authority] = Field(default_factory=dict)
    dispute_resolution: Keyed[DisputeResolver] = Field(default_factory=dict)
    joint_control: str = ""  # the essence of the joint-controller arrangement (GDPR Art. 26(2))


class Brand(Entry):
    pass


class SourceKind(StrEnum):
    SUBJECT = "subject"  # provided by the person
    AUTOMATIC = "automatic"  # collected automatically from devices, apps, sites
    THIRD_PARTY = "third_party"
    PUBLIC = "public"  # public platforms such as social media
    CREATED = "created"  # records the company creates (interactions, inferences)


class Source(Entry):
    kind: SourceKind = SourceKind.THIRD_PARTY
    recipient: str | None = None  # when the source is also a recipient (a social login provider, say)


class ThirdPartyCollection(Model):
    source: str
    categories: tuple[str, ...]
    description: str = ""
    inferred: bool = False


class Collection(Model):
    """What a product family collects, split as a notice splits it."""

    provided: tuple[str, ...] = ()
    automatic: tuple[str, ...] = ()
    third_party: tuple[ThirdPartyCollection, ...] = ()

    def categories(self) -> tuple[str, ...]:
        out = dict.fromkeys(self.provided + self.automatic)
        for item in self.third_party:
            out.update(dict.fromkeys(item.categories))
        return tuple(out)


class ProductFamily(Entry):
    brands: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    collects: Collection = Collection()
    permissions: tuple[str, ...] = ()  # mobile-device permissions the apps ask for


class Product(Entry):
    family: str
    brand: str | None = None


class SystemKind(StrEnum):
    SITE = "site"
    APP = "app"
    SERVICE = "service"
    DEVICE = "device"
    STORE = "store"  # a database, warehouse or file store with no user interface
    MANUAL = "manual"  # paper, spreadsheets, a team's inbox


class System(Entry):
    kind: SystemKind = SystemKind.SERVICE
    owner: str | None = None  # a legal entity
    countries: tuple[str, ...] = ()  # where it is hosted
    product_families: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()  # processors hosting or operating it, third parties it sends to
    contact: Contact | None = None  # who answers for the system (manual tasks go here)


class RecipientKind(StrEnum):
    GROUP_ENTITY = "group_entity"
    PROCESSOR = "processor"
    THIRD_PARTY = "third_party"
    AD_NETWORK = "ad_network"
    BUSINESS_PARTNER = "business_partner"
    INTEGRATION = "integration"  # third-party services integrating with ours
    AUTHORITY = "authority"
    INDIVIDUAL = "individual"  # people the person chooses to share with
    ADVISER = "adviser"


class Recipient(Entry):
    kind: RecipientKind
    countries: tuple[str, ...] = ()
    entity: str | None = None  # the legal entity, when the recipient is one of the group
    safeguards: tuple[str, ...] = ()  # contract terms (GDPR Art. 28(3)) or other protections
    sale: bool = False  # disclosing to it may be a "sale" under US state laws
    sharing: bool = False  # ... or "sharing" for cross-context behavioural advertising
    dpf_certified: bool = False  # EU-US Data Privacy Framework participant
    own_policy: bool = False  # processes under its own privacy policy (a third party, not a processor)


class TransferMechanism(StrEnum):
    ADEQUACY = "adequacy"
    SCC = "scc"  # standard contractual clauses (EU 2021/914)
    UK_IDTA = "uk_idta"  # UK international data transfer agreement or addendum
    BCR = "bcr"
    DPF = "dpf"
    DEROGATION = "derogation"  # GDPR Art. 49
    DIRECT_COLLECTION = "direct_collection"  # the person sends data straight to an entity abroad


class Transfer(Entry):
    to: str  # country code or EEA
    exporters: tuple[str, ...] = ()  # jurisdictions whose law governs the export (eu, uk, ch)
    recipients: tuple[str, ...] = ()
    mechanisms: tuple[TransferMechanism, ...]
    details: str = ""
