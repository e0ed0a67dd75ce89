"""Every decision rule through the Python API: allow or deny, with the rule, activity, basis and evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from privet.consent.events import Signal
from privet.policy import Rule
from privet.policy.compiled import PolicyError
from tests.world import NOW, World


def test_no_activity_covers_the_use(world: World) -> None:
    d = world.policy.decide(world.view(world.person()), "user.financial", "essential.service")
    assert (d.allowed, d.rule) == (False, Rule.NO_ACTIVITY)


def test_contract_basis_allows_and_explains(world: World) -> None:
    d = world.policy.decide(world.view(world.person()), "user.contact.email", "essential.service")
    assert d.allowed and d.rule is Rule.COVERED
    assert (d.activity, d.basis) == ("accounts", "contract")
    assert d.cites == ("Annex I, row 2",)
    assert "activity accounts" in d.reasons[0]


def test_consent_basis_needs_a_live_grant(world: World) -> None:
    never = world.view(world.person())
    d = world.policy.decide(never, "user.device.ip_address", "analytics.reporting")
    assert (d.allowed, d.rule, d.consent_key) == (False, Rule.CONSENT_MISSING, "app_analytics")

    someone = world.person("eu", None, ("app_analytics", True))
    view = world.view(someone)
    d = world.policy.decide(view, "user.device.ip_address", "analytics.reporting")
    assert d.allowed and d.consent_key == "app_analytics"
    assert view.evidence(d) == world.ledger.history(someone)[-1].event.event_id

    world.choose(someone, "app_analytics", False)
    d = world.policy.decide(world.view(someone), "user.device.ip_address", "analytics.reporting")
    assert (d.allowed, d.rule) == (False, Rule.CONSENT_WITHDRAWN)


def test_later_choice_wins_even_when_recorded_earlier(world: World) -> None:
    someone = world.person()
    world.choose(someone, "app_analytics", False, at=NOW)
    world.choose(someone, "app_analytics", True, at=NOW - dt.timedelta(days=1))  # an old grant imported late
    d = world.policy.decide(world.view(someone), "user.device.ip_address", "analytics.reporting")
    assert d.rule is Rule.CONSENT_WITHDRAWN


def test_opt_out_default_consent_is_on_until_withdrawn(world: World) -> None:
    d = world.policy.decide(world.view(world.person()), "user.contact.email", "marketing.promotion")
    assert d.allowed
    d = world.policy.decide(
        world.view(world.person("eu", None, ("loyalty", False))), "user.contact.email", "marketing.promotion"
    )
    assert d.rule is Rule.CONSENT_WITHDRAWN


def test_legitimate_interests_end_with_an_objection(world: World) -> None:
    d = world.policy.decide(world.view(world.person()), "user.device.ip_address", "essential.service.security")
    assert d.allowed and d.basis == "legitimate_interests"
    objector = world.view(world.person("eu", None, (Signal.OBJECTION.value, True)))
    d = world.policy.decide(objector, "user.device.ip_address", "essential.service.security")
    assert (d.allowed, d.rule, d.consent_key) == (False, Rule.OBJECTION, "objection")


def test_basis_per_jurisdiction(world: World) -> None:
    # In the UK the newsletter runs on legitimate interests (soft opt-in); in the EU only on consent.
    eu = world.view(world.person("eu"))
    uk = world.view(world.person("uk"))
    assert world.policy.decide(eu, "user.contact.email", "marketing.communications.email").rule is Rule.CONSENT_MISSING
    # The UK is not in the manifest's jurisdictions, so no activity runs there at all.
    assert world.policy.decide(uk, "user.contact.email", "marketing.communications.email").rule is Rule.NO_ACTIVITY


def test_direct_marketing_objection_is_absolute(world: World) -> None:
    person = world.person("eu", None, ("marketing_email", True), (Signal.OBJECTION_DIRECT_MARKETING.value, True))
    d = world.policy.decide(world.view(person), "user.contact.email", "marketing.communications.email")
    assert (d.allowed, d.rule) == (False, Rule.OBJECTION)


def test_restriction_leaves_storage_and_legal_claims(world: World) -> None:
    view = world.view(world.person("eu", None, (Signal.RESTRICTION.value, True)))
    assert world.policy.decide(view, "user.contact.email", "essential.service").rule is Rule.RESTRICTION
    d = world.policy.decide(view, "user.contact.email", "legal.claims")
    assert d.allowed and d.activity == "claims"


def test_gpc_or_opt_out_stops_sale_and_targeted_ads(world: World) -> None:
    consenting = world.person("us-ca", None, ("ad_cookies", True))
    d = world.policy.decide(world.view(consenting), "user.device.ip_address", "third_party_sharing.sale", "adnet")
    assert d.allowed
    world.choose(consenting, Signal.OPT_OUT_SALE.value, True)
    d = world.policy.decide(world.view(consenting), "user.device.ip_address", "third_party_sharing.sale", "adnet")
    assert (d.allowed, d.rule, d.consent_key) == (False, Rule.OPTED_OUT, "opt_out.sale")
    # Selling through a recipient that buys is a sale even under another purpose name.
    d = world.policy.decide(
        world.view(consenting), "user.device.ip_address", "marketing.advertising.third_party.targeted", "adnet"
    )
    assert d.rule is Rule.OPTED_OUT


def test_sensitive_data_is_never_sold_even_if_the_manifest_says_so(world: World) -> None:
    view = world.view(world.person("us-ca", None, ("ad_cookies", True)))
    d = world.policy.decide(view, "user.health_and_medical", "third_party_sharing.sale", "adnet")
    assert (d.allowed, d.rule) == (False, Rule.SENSITIVE_NEVER_SOLD)


def test_special_categories_need_their_art9_consent(world: World) -> None:
    d = world.policy.decide(world.view(world.person()), "user.health_and_medical", "essential.service")
    assert (d.allowed, d.rule, d.consent_key) == (False, Rule.CONSENT_MISSING, "health_sync")
    view = world.view(world.person("eu", None, ("health_sync", True)))
    assert world.policy.decide(view, "user.health_and_medical", "essential.service").allowed


def test_minors_are_not_sold_without_opt_in(world: World) -> None:
    child = world.person("us-ca", dt.date(2012, 1, 1), ("ad_cookies", True))
    d = world.policy.decide(world.view(child), "user.device.ip_address", "third_party_sharing.sale", "adnet")
    assert (d.allowed, d.rule) == (False, Rule.MINOR)
    world.choose(child, Signal.OPT_IN_SALE.value, True)
    assert world.policy.decide(world.view(child), "user.device.ip_address", "third_party_sharing.sale", "adnet").allowed
    sixteen = world.person("us-ca", dt.date(2009, 6, 1), ("ad_cookies", True))  # 16 on NOW's date
    assert world.policy.decide(
        world.view(sixteen), "user.device.ip_address", "third_party_sharing.sale", "adnet"
    ).allowed


def test_limit_sensitive_keeps_essential_uses(world: World) -> None:
    view = world.view(world.person("us-ca", None, ("health_sync", True), (Signal.LIMIT_SENSITIVE.value, True)))
    assert world.policy.decide(view, "user.health_and_medical", "essential.service").allowed


def test_recipient_must_be_disclosed(world: World) -> None:
    view = world.view(world.person("eu", None, ("marketing_email", True)))
    assert world.policy.decide(view, "user.contact.email", "marketing.communications.email", "mailer").allowed
    d = world.policy.decide(view, "user.contact.email", "marketing.communications.email", "adnet")
    assert d.rule is Rule.RECIPIENT_NOT_DISCLOSED


def test_unknown_residence_is_read_strictly(world: World) -> None:
    view = world.view(world.person(None))
    assert world.policy.decide(view, "user.device.ip_address", "analytics.reporting").rule is Rule.CONSENT_MISSING


def test_parent_category_covers_children_but_not_the_reverse(world: World) -> None:
    view = world.view(world.person())
    assert world.policy.decide(view, "user.contact.email", "essential.service").allowed
    assert world.policy.decide(view, "user", "essential.service").rule is Rule.NO_ACTIVITY


@pytest.mark.parametrize(
    ("category", "purpose", "recipient", "message"),
    [
        ("user.contact.emial", "essential.service", None, "did you mean user.contact.email?"),
        ("user.contact.email", "essential.servise", None, "did you mean essential.service?"),
        ("user.contact.email", "essential.service", "adnett", "did you mean adnet?"),
    ],
)
def test_unknown_keys_are_errors_with_suggestions(
    world: World, category: str, purpose: str, recipient: str | None, message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        world.policy.decide(world.view(world.person()), category, purpose, recipient)


def test_people_with_the_same_choices_share_a_profile(world: World) -> None:
    a = world.view(world.person("eu", None, ("app_analytics", True)))
    b = world.view(world.person("eu", None, ("app_analytics", True)))
    c = world.view(world.person("eu", None, ("app_analytics", False)))
    assert a.profile == b.profile != c.profile
    assert world.policy.decide(a, "user.device", "analytics.reporting") is world.policy.decide(
        b, "user.device", "analytics.reporting"
    )


def test_a_setting_may_govern_only_some_categories(world: World) -> None:
    from privet.manifest.processing import BasisClaim
    from privet.policy import compile_policy

    m = world.policy.manifest
    split = m.activities["analytics"].model_copy(
        update={
            "bases": (
                BasisClaim(basis="consent", consent="app_analytics", categories=("user.behavior",)),
                BasisClaim(basis="consent", consent="ad_cookies", categories=("user.device",)),
            )
        }
    )
    world.policy = compile_policy(m.model_copy(update={"activities": {**m.activities, "analytics": split}}))
    view = world.view(world.person("eu", None, ("app_analytics", True)))
    assert world.policy.decide(view, "user.behavior.browsing_history", "analytics.reporting").allowed
    d = world.policy.decide(view, "user.device.ip_address", "analytics.reporting")
    assert (d.allowed, d.consent_key) == (False, "ad_cookies")
