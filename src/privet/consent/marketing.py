"""Marketing choices: whether a message may be sent or tracked, and what an unsubscribe or a keyword records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from privet.consent.events import Evidence, LedgerError, Signal, Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput
from privet.consent.sms import SmsAction, SmsKind, SmsScope
from privet.consent.state import SubjectChoices
from privet.consent.unsubscribe import UnsubscribeToken
from privet.manifest.model import Manifest
from privet.manifest.notice import MarketingChannel
from privet.manifest.processing import ConsentDefault
from privet.manifest.suggest import did_you_mean


@dataclass(frozen=True)
class SendDecision:
    allowed: bool
    reason: str
    consent_key: str | None = None


def channel_of(manifest: Manifest, channel: str) -> MarketingChannel:
    found = manifest.marketing_channels.get(channel)
    if found is None:
        raise LedgerError(f"unknown marketing channel {channel!r}{did_you_mean(channel, manifest.marketing_channels)}")
    return found


def _on(manifest: Manifest, choices: SubjectChoices, key: str) -> bool:
    choice = choices.choice(key)
    if choice is not None:
        return choice.granted
    consent = manifest.consents.get(key)
    return consent is not None and consent.default is ConsentDefault.OPT_OUT


def may_send(manifest: Manifest, choices: SubjectChoices, channel: str, campaign: str | None = None) -> SendDecision:
    """May the sending system send this person a promotional message on `channel` in `campaign`?"""
    ch = channel_of(manifest, channel)
    if choices.signal(Signal.OBJECTION_DIRECT_MARKETING):
        return SendDecision(
            False, "the person objected to direct marketing (GDPR Art. 21(2))", Signal.OBJECTION_DIRECT_MARKETING
        )
    if ch.consent is None:
        return SendDecision(
            False, f"channel {channel} names no consent key; privet cannot tell whether sending is allowed"
        )
    if not _on(manifest, choices, ch.consent):
        withdrawn = choices.choice(ch.consent) is not None
        why = "unsubscribed from every campaign" if withdrawn else "has not subscribed"
        return SendDecision(False, f"the person {why} ({ch.consent})", ch.consent)
    if campaign is not None:
        per_campaign = choices.choice(ch.consent, campaign)
        if per_campaign is not None and not per_campaign.granted:
            return SendDecision(False, f"the person unsubscribed from campaign {campaign}", ch.consent)
    return SendDecision(True, f"subscribed ({ch.consent})", ch.consent)


def may_track(manifest: Manifest, choices: SubjectChoices, channel: str) -> SendDecision:
    """May opens and clicks of messages on `channel` be tracked for this person?"""
    ch = channel_of(manifest, channel)
    if not ch.tracking:
        return SendDecision(False, f"the manifest declares no tracking on {channel}")
    if ch.tracking_consent is None:
        return SendDecision(False, f"tracking on {channel} names no consent key")
    if _on(manifest, choices, ch.tracking_consent):
        return SendDecision(True, f"allowed ({ch.tracking_consent})", ch.tracking_consent)
    return SendDecision(False, f"the person has not allowed tracking ({ch.tracking_consent})", ch.tracking_consent)


def unsubscribe_choice(manifest: Manifest, token: UnsubscribeToken, one_click: bool, now: dt.datetime,
                       request_id: str | None = None) -> ChoiceInput:  # fmt: skip
    """What an unsubscribe link or an RFC 8058 one-click POST records: one campaign, or the whole channel."""
    ch = channel_of(manifest, token.channel)
    if ch.consent is None:
        raise LedgerError(f"channel {token.channel} names no consent key to withdraw")
    return ChoiceInput(
        ch.consent,
        False,
        Source.ONE_CLICK if one_click else Source.EMAIL_LINK,
        subject_id=token.subject_id,
        scope=token.campaign or "",
        at=now,
        evidence=Evidence(request_id=request_id, note=f"token {token.key_id}"),
    )


def sms_choice(manifest: Manifest, action: SmsAction, phone: Identifier, channel: str, campaign: str | None,
               now: dt.datetime) -> ChoiceInput | None:  # fmt: skip
    """What an inbound keyword records: STOP ends the campaign, STOPALL every campaign, START rejoins."""
    if action.kind not in (SmsKind.OPT_OUT, SmsKind.OPT_IN):
        return None
    ch = channel_of(manifest, channel)
    if ch.consent is None:
        raise LedgerError(f"channel {channel} names no consent key")
    scope = "" if action.scope is SmsScope.ALL or campaign is None else campaign
    return ChoiceInput(
        ch.consent,
        action.kind is SmsKind.OPT_IN,
        Source.SMS_KEYWORD,
        identifier=phone,
        scope=scope,
        at=now,
        evidence=Evidence(note=f"keyword {action.keyword}"),
    )


def gpc_json(last_update: dt.date) -> dict[str, object]:
    """The content of /.well-known/gpc.json: this site honours Global Privacy Control."""
    return {"gpc": True, "lastUpdate": last_update.isoformat()}


def is_gpc(header: str | None) -> bool:
    """`Sec-GPC: 1` and nothing else is a signal (the spec says other values are to be ignored)."""
    return header is not None and header.strip() == "1"
