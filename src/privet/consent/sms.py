"""Inbound SMS keywords: opt-out, opt-in and help, each answered with the one confirmation carriers expect.

A keyword counts only when it is the whole message: trimmed, in any case, with inner spaces collapsed and a
trailing "." or "!" forgiven ("stop", "  Stop ", "STOP." match; "please stop texting" does not). Anything else
is `unrecognised` and goes to a person, with the keyword it mentions, if any, as a hint.

Keywords (US carrier and CTIA practice; REVOKE and OPT OUT are among the words the FCC's 2024 consent-
revocation rule names): STOP, END, CANCEL, UNSUBSCRIBE, QUIT, REVOKE, OPTOUT end the programme the number
belongs to; STOPALL ends every programme; START, UNSTOP and YES rejoin (YES is in the default opt-in lists of
the large SMS platforms); HELP and INFO ask for help.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["DEFAULT_TEMPLATES", "KEYWORDS", "SmsAction", "SmsKind", "SmsScope", "SmsTemplates", "interpret_sms"]


class SmsKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


class SmsScope(StrEnum):
    CAMPAIGN = "campaign"  # the programme the number that received the message belongs to
    ALL = "all"  # every programme


# spelling -> (canonical keyword, kind, scope)
KEYWORDS: Mapping[str, tuple[str, SmsKind, SmsScope]] = {
    **{k: (k, SmsKind.OPT_OUT, SmsScope.CAMPAIGN) for k in ("STOP", "END", "CANCEL", "UNSUBSCRIBE", "QUIT")},
    **{k: (k, SmsKind.OPT_OUT, SmsScope.CAMPAIGN) for k in ("REVOKE", "OPTOUT")},
    "OPT OUT": ("OPTOUT", SmsKind.OPT_OUT, SmsScope.CAMPAIGN),
    "OPT-OUT": ("OPTOUT", SmsKind.OPT_OUT, SmsScope.CAMPAIGN),
    "STOPALL": ("STOPALL", SmsKind.OPT_OUT, SmsScope.ALL),
    **{k: (k, SmsKind.OPT_IN, SmsScope.CAMPAIGN) for k in ("START", "UNSTOP", "YES")},
    **{k: (k, SmsKind.HELP, SmsScope.CAMPAIGN) for k in ("HELP", "INFO")},
}

_PLACEHOLDERS = frozenset({"programme", "help_contact"})


@dataclass(frozen=True, slots=True)
class SmsTemplates:
    """Confirmation texts; `{programme}` and `{help_contact}` are the only placeholders."""

    opt_out: str = "{programme}: you are unsubscribed and will get no more messages. Reply START to rejoin."
    opt_out_all: str = (
        "{programme}: you are unsubscribed from all our text messages and will get no more. Reply START to rejoin."
    )
    opt_in: str = "{programme}: you are subscribed again. Msg & data rates may apply. Reply HELP for help, STOP to end."
    help: str = "{programme}: for help contact {help_contact}. Msg & data rates may apply. Reply STOP to end."

    def __post_init__(self) -> None:
        for name in ("opt_out", "opt_out_all", "opt_in", "help"):
            template = getattr(self, name)
            try:
                fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
            except ValueError as error:
                raise ValueError(f"SMS template {name!r}: {error}") from None
            for field, spec, conversion in fields:
                if field not in _PLACEHOLDERS or spec or conversion:
                    allowed = "{programme} or {help_contact}"
                    raise ValueError(f"SMS template {name!r}: {{{field}}} is not a placeholder; use {allowed}")

    def for_action(self, kind: SmsKind, scope: SmsScope) -> str | None:
        if kind is SmsKind.OPT_OUT:
            return self.opt_out_all if scope is SmsScope.ALL else self.opt_out
        return {SmsKind.OPT_IN: self.opt_in, SmsKind.HELP: self.help}.get(kind)


DEFAULT_TEMPLATES = SmsTemplates()


@dataclass(frozen=True, slots=True)
class SmsAction:
    kind: SmsKind
    scope: SmsScope
    keyword: str | None  # the canonical keyword ("OPTOUT" for "opt out")
    reply: str | None  # the one confirmation to send; None: send nothing
    unrecognised: bool = False  # a message that is not a keyword: a person should read it
    possible_keyword: str | None = None  # a keyword an unrecognised message mentions ("please stop texting")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().rstrip(".!").strip()
    return " ".join(text.split()).upper()


def interpret_sms(
    text: str, *, programme: str, help_contact: str, templates: SmsTemplates = DEFAULT_TEMPLATES
) -> SmsAction:
    """What an inbound message asks for, and the confirmation to send back."""
    if not programme.strip() or not help_contact.strip():
        raise ValueError("an SMS programme needs a name and a help contact for its confirmations")
    normalised = _normalise(text)
    match = KEYWORDS.get(normalised)
    if match is None:
        words = re.findall(r"[A-Z]+(?:[ -]OUT)?", normalised)
        hint = next((KEYWORDS[w][0] for w in words if w in KEYWORDS), None)
        return SmsAction(SmsKind.NONE, SmsScope.CAMPAIGN, None, None, bool(normalised), hint)
    keyword, kind, scope = match
    template = templates.for_action(kind, scope)
    reply = template.format(programme=programme.strip(), help_contact=help_contact.strip()) if template else None
    return SmsAction(kind, scope, keyword, reply)
