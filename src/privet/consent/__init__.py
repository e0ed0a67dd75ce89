"""Consent: the ledger of choices, GPC, IAB GPP strings, SMS keywords and email unsubscribe tokens."""
