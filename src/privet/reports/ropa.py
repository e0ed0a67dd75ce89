"""The record of processing activities (GDPR Art. 30(1)): one row per activity, as CSV or an Excel workbook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from privet.law.catalogue import catalogue
from privet.manifest.entities import Contact, EntityRole, LegalEntity, Recipient, RecipientKind, System
from privet.manifest.model import Manifest
from privet.manifest.processing import (
    Activity,
    BasisClaim,
    FinalAction,
    LimitationPeriod,
    RetentionRule,
    RetentionTrigger,
)
from privet.taxonomy import Sensitivity

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["HEADERS", "RopaRow", "retention_terms", "ropa_csv", "ropa_rows", "ropa_xlsx"]

# Multi-valued cells hold one value a line; spreadsheets show them wrapped, csv quotes them.
SEP = "\n"


@dataclass(frozen=True, slots=True)
class RopaRow:
    activity: str
    name: str
    description: str
    controller: str
    joint_controllers: str
    representative: str
    dpo: str
    purposes: tuple[str, ...]
    legal_bases: tuple[str, ...]
    special_condition: str
    data_subjects: tuple[str, ...]
    data_categories: tuple[str, ...]
    special_categories: bool
    recipients: tuple[str, ...]
    transfers: tuple[str, ...]
    retention: str
    security_measures: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    cite: str
    inferred: bool


# Column order of the CSV and the sheet; each header says which Art. 30(1) point it answers.
HEADERS: dict[str, str] = {
    "activity": "Activity key",
    "name": "Processing activity",
    "description": "Description",
    "controller": "Controller and contact (Art. 30(1)(a))",
    "joint_controllers": "Joint controllers and contacts (Art. 30(1)(a))",
    "representative": "Representative (Art. 30(1)(a))",
    "dpo": "Data protection officer (Art. 30(1)(a))",
    "purposes": "Purposes of processing (Art. 30(1)(b))",
    "legal_bases": "Legal bases by jurisdiction (Art. 6)",
    "special_condition": "Condition for special categories (Art. 9(2))",
    "data_subjects": "Categories of data subjects (Art. 30(1)(c))",
    "data_categories": "Categories of personal data (Art. 30(1)(c))",
    "special_categories": "Special or sensitive categories",
    "recipients": "Categories of recipients, incl. in third countries (Art. 30(1)(d))",
    "transfers": "Transfers to third countries and safeguards (Art. 30(1)(e))",
    "retention": "Time limits for erasure (Art. 30(1)(f))",
    "security_measures": "Technical and organisational security measures (Art. 30(1)(g))",
    "jurisdictions": "Jurisdictions",
    "cite": "Notice section",
    "inferred": "Inferred (notice silent)",
}


def ropa_rows(manifest: Manifest) -> list[RopaRow]:
    """One row per activity, in the manifest's order."""
    org = organisation_cells(manifest)
    security = tuple(
        f"{m.title}: {m.description}" if m.description else m.title for m in manifest.security_measures.values()
    )
    return [_row(manifest, activity, org, security) for activity in manifest.activities.values()]


def _row(manifest: Manifest, activity: Activity, org: dict[str, str], security: tuple[str, ...]) -> RopaRow:
    tax = manifest.taxonomy
    recipients = effective_recipients(manifest, activity)
    transfers = matching_transfers(manifest, activity)
    transferred_to = {r for key in transfers for r in manifest.transfers[key].recipients if r in recipients}
    categories = [category_label(manifest, c) for c in activity.categories]
    if activity.all_categories:
        categories.insert(0, "All categories of personal data in this record")
    sensitive = any(tax.is_sensitive(c) for c in activity.categories) or (
        activity.all_categories and any(tax.is_sensitive(c) for c in manifest.collected_categories)
    )
    return RopaRow(
        activity=activity.key,
        name=activity.title,
        description=activity.description,
        controller=org["controller"],
        joint_controllers=org["joint_controllers"],
        representative=org["representative"],
        dpo=org["dpo"],
        purposes=tuple(purpose_name(manifest, p) for p in activity.purposes),
        legal_bases=tuple(basis_text(manifest, activity, claim) for claim in activity.bases),
        special_condition=_special_condition(manifest, activity),
        data_subjects=tuple(subject_name(manifest, s) for s in activity_subjects(manifest, activity)),
        data_categories=tuple(categories),
        special_categories=sensitive,
        recipients=tuple(recipient_label(manifest, r, r in transferred_to) for r in recipients),
        transfers=tuple(transfer_text(manifest, key, recipients) for key in transfers),
        retention=retention_text(manifest, activity.retention),
        security_measures=security,
        jurisdictions=activity_jurisdictions(manifest, activity),
        cite=activity.cite or "",
        inferred=activity.inferred,
    )


# --- names -----------------------------------------------------------------------------------------------------


def purpose_name(manifest: Manifest, key: str) -> str:
    entry = manifest.taxonomy.purposes.get(key)
    return entry.name if entry else key


def subject_name(manifest: Manifest, key: str) -> str:
    entry = manifest.taxonomy.subjects.get(key)
    return entry.name if entry else key


def category_name(manifest: Manifest, key: str) -> str:
    entry = manifest.taxonomy.categories.get(key)
    return entry.name if entry else key


_SENSITIVITY_LABELS = {
    Sensitivity.GDPR_ART9: "special category, GDPR Art. 9",
    Sensitivity.GDPR_ART10: "criminal offences, GDPR Art. 10",
    Sensitivity.US_SENSITIVE: "sensitive under US state law",
    Sensitivity.CHILD: "child's data",
}


def category_label(manifest: Manifest, key: str) -> str:
    """The category's name, flagged when it is special or sensitive."""
    entry = manifest.taxonomy.categories.get(key)
    if entry is None or not entry.sensitive:
        return category_name(manifest, key)
    flags = "; ".join(label for s, label in _SENSITIVITY_LABELS.items() if s in entry.sensitive)
    return f"{entry.name} [{flags}]"


def basis_name(manifest: Manifest, key: str) -> str:
    entry = manifest.taxonomy.legal_bases.get(key)
    if entry is None:
        return key.replace("_", " ")
    return f"{entry.name} ({entry.article})" if entry.article else entry.name


def contact_text(contact: Contact | None) -> str:
    if contact is None:
        return ""
    return ", ".join(v for v in (contact.email, contact.phone, contact.url, contact.address) if v)


def entity_text(entity: LegalEntity) -> str:
    details = ", ".join(v for v in (entity.address, entity.country, contact_text(entity.contact)) if v)
    return f"{entity.title} ({details})" if details else entity.title


# --- organisation ----------------------------------------------------------------------------------------------


def organisation_cells(manifest: Manifest) -> dict[str, str]:
    org = manifest.organisation
    entities = list(org.legal_entities.values())
    controllers = [e for e in entities if EntityRole.CONTROLLER in e.roles]
    joint = [e for e in entities if EntityRole.JOINT_CONTROLLER in e.roles]
    lead = [e for e in joint if e.lead]
    joint_text = SEP.join(entity_text(e) + (" [lead]" if e.lead else "") for e in joint)
    if joint and org.joint_control:
        joint_text += SEP + "Arrangement: " + org.joint_control
    controller = SEP.join(entity_text(e) for e in controllers) or SEP.join(entity_text(e) for e in lead)
    return {
        "controller": controller or org.name,
        "joint_controllers": joint_text,
        "representative": SEP.join(entity_text(r) for r in org.representatives.values()),
        "dpo": contact_text(org.dpo),
    }


# --- activity facts ------------------------------------------------------------------------------------------


def activity_jurisdictions(manifest: Manifest, activity: Activity) -> tuple[str, ...]:
    return activity.jurisdictions or manifest.notice.jurisdictions


def activity_subjects(manifest: Manifest, activity: Activity) -> tuple[str, ...]:
    if activity.subjects:
        return activity.subjects
    found: dict[str, None] = {}
    for key in activity.product_families:
        family = manifest.product_families.get(key)
        if family is not None:
            found.update(dict.fromkeys(family.subjects))
    return tuple(found)


def effective_recipients(manifest: Manifest, activity: Activity) -> tuple[str, ...]:
    """The activity's own recipients, then the processors that operate or host its systems.

    A processor running a system for us holds whatever the system holds, so every activity on the system reaches it.
    A system's other recipients (an ad network whose tag is on the store, a login provider) receive what they
    decide for themselves, and only from the activities that list them.
    """
    found = dict.fromkeys(activity.recipients)
    for key in activity.systems:
        system = manifest.systems.get(key)
        if system is not None:
            found.update(dict.fromkeys(system_operators(manifest, system)))
    return tuple(found)


def system_operators(manifest: Manifest, system: System) -> tuple[str, ...]:
    """The recipients of a system that operate or host it for us: processors, with no purpose of their own."""
    return tuple(r for r in system.recipients if operates_for_us(manifest.recipients.get(r)))


def operates_for_us(recipient: Recipient | None) -> bool:
    return (
        recipient is not None
        and recipient.kind is RecipientKind.PROCESSOR
        and not (recipient.sale or recipient.sharing or recipient.own_policy)
    )


def matching_transfers(manifest: Manifest, activity: Activity) -> tuple[str, ...]:
    """Transfers naming one of the activity's recipients, or, naming none, going where its data goes."""
    recipients = set(effective_recipients(manifest, activity))
    countries = {c for r in recipients if r in manifest.recipients for c in manifest.recipients[r].countries}
    countries |= {c for s in activity.systems if s in manifest.systems for c in manifest.systems[s].countries}
    out = []
    for key, transfer in manifest.transfers.items():
        if recipients & set(transfer.recipients) or (not transfer.recipients and transfer.to in countries):
            out.append(key)
    return tuple(out)


def recipient_label(manifest: Manifest, key: str, transferred: bool = False) -> str:
    recipient = manifest.recipients.get(key)
    if recipient is None:
        return key
    details = [recipient.kind.value.replace("_", " ")]
    if recipient.countries:
        details.append(", ".join(recipient.countries))
    if recipient.sale or recipient.sharing:
        details.append(" and ".join(w for w, on in (("sale", recipient.sale), ("sharing", recipient.sharing)) if on))
    label = f"{recipient.title} ({'; '.join(details)})"
    return label + " - third-country transfer" if transferred else label


_MECHANISMS = {
    "adequacy": "adequacy decision",
    "scc": "standard contractual clauses",
    "uk_idta": "UK international data transfer agreement or addendum",
    "bcr": "binding corporate rules",
    "dpf": "EU-US Data Privacy Framework",
    "derogation": "derogation for specific situations (GDPR Art. 49)",
    "direct_collection": "direct collection by the recipient abroad",
}


def transfer_text(manifest: Manifest, key: str, recipients: Collection[str] | None = None) -> str:
    """The transfer in words, naming only those of its recipients in `recipients` (all of them when None)."""
    transfer = manifest.transfers[key]
    text = f"To {transfer.to}"
    if transfer.exporters:
        text += f" from {', '.join(transfer.exporters)}"
    named = [r for r in transfer.recipients if recipients is None or r in recipients]
    if named:
        names = ", ".join(manifest.recipients[r].title if r in manifest.recipients else r for r in named)
        text += f" ({names})"
    text += ": " + "; ".join(_MECHANISMS.get(m.value, m.value) for m in transfer.mechanisms)
    return text + (f". {transfer.details}" if transfer.details else "")


def basis_text(manifest: Manifest, activity: Activity, claim: BasisClaim) -> str:
    juris = claim.jurisdictions or _basis_jurisdictions(activity_jurisdictions(manifest, activity))
    text = f"{', '.join(juris)}: {basis_name(manifest, claim.basis)}"
    if claim.purposes:
        text += " for " + ", ".join(purpose_name(manifest, p) for p in claim.purposes)
    if claim.condition:
        text += f", {claim.condition}"
    if claim.interest:
        text += f"; interest: {claim.interest}"
    if claim.consent:
        consent = manifest.consents.get(claim.consent)
        text += f"; consent: {consent.title if consent else claim.consent}"
    return text + (" (inferred)" if claim.inferred else "")


def _basis_jurisdictions(keys: tuple[str, ...]) -> tuple[str, ...]:
    # A claim for "every jurisdiction" is named where the law asks for a legal basis (GDPR-like), if any does.
    known = catalogue().jurisdictions
    needing = tuple(j for j in catalogue().expand(keys) if j in known and known[j].legal_basis_required)
    return needing or keys


def _special_condition(manifest: Manifest, activity: Activity) -> str:
    if not activity.special_condition:
        return ""
    entry = manifest.taxonomy.special_conditions.get(activity.special_condition)
    if entry is None:
        return activity.special_condition
    return f"{entry.name} ({entry.article})" if entry.article else entry.name


# --- retention ----------------------------------------------------------------------------------------------------

_TRIGGERS = {
    RetentionTrigger.RELATIONSHIP_END: "the relationship ends",
    RetentionTrigger.PURPOSE_FULFILLED: "the purpose is fulfilled",
    RetentionTrigger.LAST_ACTIVITY: "the person's last activity",
    RetentionTrigger.CONSENT_WITHDRAWN: "consent is withdrawn",
    RetentionTrigger.COLLECTED: "collection",
}
ACTION_WORDS = {
    FinalAction.DELETE: "deleted",
    FinalAction.ANONYMISE: "anonymised",
    FinalAction.DELETE_OR_ANONYMISE: "deleted or anonymised",
}


def retention_text(manifest: Manifest, key: str | None) -> str:
    if key is None:
        return "No retention rule stated"
    rule = manifest.retention.get(key)
    if rule is None:
        return f"Retention rule {key!r} is not defined"
    return f"{rule.title}. {retention_terms(rule)}"


def retention_terms(rule: RetentionRule) -> str:
    """The rule in words: when the clock starts, each period in turn, and what happens at the end."""
    start = " or ".join(_TRIGGERS[t] for t in rule.triggers) or "collection"
    parts = [f"Kept until {start}"]
    if rule.after_trigger:
        parts[0] += f", then for {rule.after_trigger}"
    if rule.limitation_periods:
        periods = "; ".join(
            f"{', '.join(p.jurisdictions)}: {p.period}" if p.jurisdictions else f"default {p.period}"
            for p in _default_last(rule)
        )
        limitation = f"then for the limitation period ({periods})"
        if rule.restrict_during_limitation:
            limitation += ", restricted to storage and security"
        parts.append(limitation)
    if rule.grace:
        parts.append(f"plus {rule.grace}")
    text = ", ".join(parts) + f"; then {ACTION_WORDS[rule.final_action]}."
    if rule.legal_claims_extend:
        text += " Kept longer while a legal claim needs it."
    return text


def _default_last(rule: RetentionRule) -> list[LimitationPeriod]:
    # The default entry (no jurisdictions) reads best first: "3 years; uk: 6 years".
    return sorted(rule.limitation_periods, key=lambda p: bool(p.jurisdictions))


# --- formats ------------------------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if isinstance(value, tuple):
        return SEP.join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cells(row: RopaRow) -> list[str]:
    return [_cell(getattr(row, name)) for name in HEADERS]


def ropa_csv(manifest: Manifest) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS.values())
    writer.writerows(_cells(row) for row in ropa_rows(manifest))
    return out.getvalue()


_WIDTHS = {"description": 50, "retention": 60, "legal_bases": 50, "security_measures": 50, "recipients": 45}


def ropa_xlsx(manifest: Manifest) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    stamp = _fixed_time(manifest)
    wb = Workbook()
    wb.properties.creator = "privet"
    wb.properties.title = f"Record of processing activities - {manifest.organisation.name}"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    sheet = wb.active
    assert sheet is not None
    sheet.title = "Processing activities"
    sheet.append(list(HEADERS.values()))
    for row in ropa_rows(manifest):
        sheet.append(_cells(row))
    for column, name in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = _WIDTHS.get(name, 28)
    _style(sheet, bold, wrap)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = sheet.dimensions

    details = wb.create_sheet("Controller")
    details.append(["Field", "Value"])
    for label, value in controller_details(manifest):
        details.append([label, value])
    details.column_dimensions["A"].width = 32
    details.column_dimensions["B"].width = 90
    _style(details, bold, wrap)
    details.freeze_panes = "A2"
    return _deterministic_zip(_save(wb), stamp)


def controller_details(manifest: Manifest) -> list[tuple[str, str]]:
    org = manifest.organisation
    out = [("Organisation", org.name)]
    for entity in org.legal_entities.values():
        roles = ", ".join(r.value.replace("_", " ") for r in entity.roles)
        out.append((f"{entity.title} ({roles}{', lead' if entity.lead else ''})", entity_text(entity)))
    if org.joint_control:
        out.append(("Joint-controller arrangement (Art. 26)", org.joint_control))
    out += [(f"Representative: {r.title}", entity_text(r)) for r in org.representatives.values()]
    if org.dpo:
        out.append(("Data protection officer", contact_text(org.dpo)))
    if org.general_contact:
        out.append(("General contact", contact_text(org.general_contact)))
    out += [(f"Supervisory authority: {a.title}", contact_text(a.contact)) for a in org.authorities.values()]
    out.append(("Notice", manifest.notice.title))
    if manifest.notice.last_updated:
        out.append(("Notice last updated", manifest.notice.last_updated.isoformat()))
    names = catalogue().jurisdictions
    juris = catalogue().expand(manifest.notice.jurisdictions)
    out.append(("Jurisdictions", ", ".join(names[j].name if j in names else j for j in juris)))
    return out


def _style(sheet: Worksheet, bold: Font, wrap: Alignment) -> None:
    for index, row in enumerate(sheet.iter_rows()):
        for cell in row:
            cell.alignment = wrap
            if index == 0:
                cell.font = bold


def _fixed_time(manifest: Manifest) -> dt.datetime:
    day = max(manifest.notice.last_updated or dt.date(2000, 1, 1), dt.date(1980, 1, 1))  # zip dates start in 1980
    return dt.datetime(day.year, day.month, day.day)


def _save(wb: Workbook) -> bytes:
    # openpyxl's ExcelWriter, not Workbook.save, which stamps the current time into the properties.
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return buffer.getvalue()


def _deterministic_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """The same archive with every member dated `stamp`, so equal manifests give equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()
