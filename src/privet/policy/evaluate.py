"""The rules, in the order a privacy officer would apply them; each denial names its rule and citation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from privet.consent.events import Signal
from privet.law.catalogue import Catalogue
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity, BasisClaim
from privet.policy.decision import Decision, Outcome, Rule
from privet.taxonomy import PurposeTag, Sensitivity

_STORAGE_ONLY = frozenset({PurposeTag.STORAGE, PurposeTag.LEGAL_CLAIMS, PurposeTag.LEGAL_OBLIGATION})
_SENSITIVE_ALLOWED = frozenset({PurposeTag.ESSENTIAL, PurposeTag.SECURITY, PurposeTag.LEGAL_OBLIGATION,
                                PurposeTag.LEGAL_CLAIMS, PurposeTag.STORAGE})  # fmt: skip
_OPT_OUTS = (
    (PurposeTag.SALE, Signal.OPT_OUT_SALE, "Cal. Civ. Code 1798.120"),
    (PurposeTag.SHARING, Signal.OPT_OUT_SHARING, "Cal. Civ. Code 1798.120"),
    (PurposeTag.TARGETED_ADVERTISING, Signal.OPT_OUT_TARGETED_ADVERTISING, "e.g. Va. Code 59.1-577(A)(5)"),
)


@dataclass(frozen=True)
class Evaluation:
    manifest: Manifest
    law: Catalogue
    jurisdiction: str | None
    minor: bool
    choices: dict[str, bool]  # key -> granted, for keys the person has chosen on
    defaults: dict[str, bool]  # consent key -> on without a choice (opt-out consents)

    def on(self, key: str) -> bool:
        return self.choices.get(key, self.defaults.get(key, False))

    def signal(self, signal: Signal) -> bool:
        return self.choices.get(signal.value, False)

    def basis_required(self) -> bool:
        j = self.law.jurisdictions.get(self.jurisdiction) if self.jurisdiction else None
        return True if j is None else j.legal_basis_required  # unknown residence: the strictest reading


def _ancestry(category: str) -> frozenset[str]:
    parts = category.split(".")
    return frozenset(".".join(parts[: i + 1]) for i in range(len(parts)))


def evaluate(
    facts: Evaluation, candidates: Sequence[Activity], category: str, purpose: str, recipient: str | None
) -> Decision:
    m = facts.manifest
    tax = m.taxonomy
    tags = tax.purposes[purpose].tags
    cat = tax.categories[category]
    rec = m.recipients.get(recipient) if recipient else None

    def deny(rule: Rule, reason: str, *, key: str | None = None, activity: Activity | None = None,
             basis: str | None = None, cite: str | None = None) -> Decision:  # fmt: skip
        cites = tuple(c for c in (cite, activity.cite if activity else None) if c)
        return Decision(Outcome.DENY, rule, (reason,), purpose, category, recipient,
                        activity.key if activity else None, basis, key, facts.jurisdiction, cites)  # fmt: skip

    if facts.signal(Signal.RESTRICTION) and not (tags & _STORAGE_ONLY):
        return deny(Rule.RESTRICTION, "processing is restricted to storage and legal claims (restriction in force)",
                    key=Signal.RESTRICTION.value, cite="GDPR Art. 18(2)")  # fmt: skip

    sale_like = set(tags & {PurposeTag.SALE, PurposeTag.SHARING, PurposeTag.TARGETED_ADVERTISING})
    if rec is not None and rec.sale:
        sale_like.add(PurposeTag.SALE)
    if rec is not None and rec.sharing:
        sale_like.add(PurposeTag.SHARING)
    if sale_like:
        if cat.sensitive & {Sensitivity.GDPR_ART9, Sensitivity.US_SENSITIVE, Sensitivity.CHILD}:
            return deny(Rule.SENSITIVE_NEVER_SOLD, f"{category} is sensitive and is never sold, shared or used for "
                        "targeted advertising", cite="notice: sensitive personal data")  # fmt: skip
        for tag, signal, cite in _OPT_OUTS:
            if tag in sale_like and facts.signal(signal):
                return deny(Rule.OPTED_OUT, f"the person opted out ({signal.value}; a GPC signal counts)",
                            key=signal.value, cite=cite)  # fmt: skip
        if facts.minor and not facts.signal(Signal.OPT_IN_SALE):
            line = m.minors.no_sale_under
            return deny(Rule.MINOR, f"the person is under {line or 'the age line'}: no sale or sharing without opt-in",
                        key=Signal.OPT_IN_SALE.value, cite="Cal. Civ. Code 1798.120(c)")  # fmt: skip

    if (
        Sensitivity.US_SENSITIVE in cat.sensitive
        and facts.signal(Signal.LIMIT_SENSITIVE)
        and not (tags & _SENSITIVE_ALLOWED)
    ):
        return deny(Rule.SENSITIVE_LIMITED, f"the person limited the use of sensitive data ({category})",
                    key=Signal.LIMIT_SENSITIVE.value, cite="Cal. Civ. Code 1798.121")  # fmt: skip

    wanted = _ancestry(category)
    covering = [a for a in candidates if a.all_categories or wanted & set(a.categories)]
    if facts.jurisdiction is not None:
        covering = [
            a for a in covering if facts.jurisdiction in facts.law.expand(a.jurisdictions or m.notice.jurisdictions)
        ]
    if not covering:
        where = f" in {facts.jurisdiction}" if facts.jurisdiction else ""
        return deny(Rule.NO_ACTIVITY, f"no processing activity covers {purpose} of {category}{where}")
    if rec is not None:
        disclosed = [a for a in covering if recipient in a.recipients]
        if not disclosed:
            return deny(Rule.RECIPIENT_NOT_DISCLOSED, f"no activity for {purpose} of {category} discloses it to "
                        f"{recipient}", activity=covering[0])  # fmt: skip
        covering = disclosed

    first_denial: Decision | None = None
    for activity in covering:
        decision = _activity(facts, activity, purpose, category, recipient, tags, deny)
        if decision.allowed:
            return decision
        first_denial = first_denial or decision
    assert first_denial is not None
    return first_denial


def _activity(facts: Evaluation, activity: Activity, purpose: str, category: str, recipient: str | None,
              tags: frozenset[PurposeTag], deny: _Deny) -> Decision:  # fmt: skip
    tax = facts.manifest.taxonomy
    if activity.consent and not facts.on(activity.consent):
        return _consent_denial(facts, activity.consent, activity, None, deny)
    if PurposeTag.DIRECT_MARKETING in tags and facts.signal(Signal.OBJECTION_DIRECT_MARKETING):
        return deny(Rule.OBJECTION, "the person objected to direct marketing",
                    key=Signal.OBJECTION_DIRECT_MARKETING.value, activity=activity, cite="GDPR Art. 21(3)")  # fmt: skip
    basis_key: str | None = None
    consent_key = activity.consent
    if facts.basis_required():
        claims = [c for c in activity.bases if _applies(facts, c, purpose, category)]
        if not claims:
            return deny(Rule.NO_BASIS, f"activity {activity.key} claims no legal basis for {purpose} in "
                        f"{facts.jurisdiction or 'an unknown jurisdiction'}", activity=activity)  # fmt: skip
        denial: Decision | None = None
        for claim in claims:
            basis = tax.legal_bases.get(claim.basis)
            key = claim.consent or activity.consent
            if basis is not None and basis.needs_consent:
                if key is None or not facts.on(key):
                    denial = denial or _consent_denial(facts, key, activity, claim.basis, deny)
                    continue
                consent_key = key
            elif basis is not None and basis.objectable and facts.signal(Signal.OBJECTION):
                denial = denial or deny(Rule.OBJECTION, f"the person objected to processing on {claim.basis}",
                                        key=Signal.OBJECTION.value, activity=activity, basis=claim.basis,
                                        cite="GDPR Art. 21(1)")  # fmt: skip
                continue
            basis_key = claim.basis
            break
        else:
            assert denial is not None
            return denial
        cat = tax.categories[category]
        if Sensitivity.GDPR_ART9 in cat.sensitive:
            condition = tax.special_conditions.get(activity.special_condition or "")
            if condition is None:
                return deny(Rule.ART9_CONDITION, f"{category} is a special category and activity {activity.key} "
                            "names no Art. 9(2) condition", activity=activity, basis=basis_key,
                            cite="GDPR Art. 9(1)")  # fmt: skip
            if condition.needs_consent:
                keys = activity.consent_keys()
                if not any(facts.on(k) for k in keys):
                    return _consent_denial(facts, keys[0] if keys else None, activity, basis_key, deny)
    reasons = [f"activity {activity.key} ({activity.title}) covers {purpose} of {category}"]
    if basis_key:
        reasons.append(f"legal basis: {basis_key}")
    if consent_key:
        reasons.append(f"consent {consent_key} is given")
    if recipient:
        reasons.append(f"{recipient} is a disclosed recipient of this activity")
    return Decision(Outcome.ALLOW, Rule.COVERED, tuple(reasons), purpose, category, recipient, activity.key,
                    basis_key, consent_key, facts.jurisdiction, (activity.cite,) if activity.cite else ())  # fmt: skip


class _Deny(Protocol):  # the shape of evaluate()'s local `deny`
    def __call__(self, rule: Rule, reason: str, *, key: str | None = None, activity: Activity | None = None,
                 basis: str | None = None, cite: str | None = None) -> Decision: ...  # fmt: skip


def _applies(facts: Evaluation, claim: BasisClaim, purpose: str, category: str) -> bool:
    if claim.purposes and purpose not in claim.purposes:
        return False
    if claim.categories and not (_ancestry(category) & set(claim.categories)):
        return False
    if claim.jurisdictions and facts.jurisdiction is not None:
        return facts.jurisdiction in facts.law.expand(claim.jurisdictions)
    return True


def _consent_denial(facts: Evaluation, key: str | None, activity: Activity, basis: str | None, deny: _Deny) -> Decision:
    if key is None:
        return deny(Rule.CONSENT_MISSING, f"activity {activity.key} needs consent but names no consent key",
                    activity=activity, basis=basis)  # fmt: skip
    if key in facts.choices:
        return deny(Rule.CONSENT_WITHDRAWN, f"consent {key} was withdrawn", key=key, activity=activity, basis=basis,
                    cite="GDPR Art. 7(3)")  # fmt: skip
    return deny(Rule.CONSENT_MISSING, f"consent {key} has not been given", key=key, activity=activity, basis=basis,
                cite="GDPR Art. 6(1)(a)")  # fmt: skip
