"""The audit log: an append-only, hash-chained record of every request step, consent change and erasure."""

from privet.audit.chain import (
    GENESIS,
    JSON,
    Anchor,
    AuditEntry,
    AuditError,
    ChainReport,
    anchor,
    canonical_bytes,
    chain_hash,
    next_entry,
    parse_anchor,
    redact,
    verify_chain,
)

__all__ = [
    "GENESIS",
    "JSON",
    "Anchor",
    "AuditEntry",
    "AuditError",
    "ChainReport",
    "anchor",
    "canonical_bytes",
    "chain_hash",
    "next_entry",
    "parse_anchor",
    "redact",
    "verify_chain",
]
