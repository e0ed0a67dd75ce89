"""De-identification: PII detection and redaction in free text, pseudonymisation, generalisation, k-anonymity."""
