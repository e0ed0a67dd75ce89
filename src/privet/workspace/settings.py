"""Workspace settings: read once from privet.toml and the environment, then passed explicitly."""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privet.crypto import LocalKek

SETTINGS_FILE = "privet.toml"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class MailSettings:
    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    from_address: str = "privacy@localhost"

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class CryptoSettings:
    """[crypto]: the KEKs that wrap people's data keys. The toml names where each secret is (env:VAR or a file),
    never the secret; the secrets are read when the settings are loaded."""

    active_kek: str  # wraps new data keys
    sources: Mapping[str, str]  # KEK id -> env:VAR or file path, as written
    secrets: Mapping[str, bytes] = field(repr=False)  # KEK id -> its 32-byte secret

    @property
    def previous(self) -> tuple[str, ...]:
        """KEKs kept only to unwrap keys a rotation has not rewrapped yet."""
        return tuple(k for k in self.sources if k != self.active_kek)


@dataclass(frozen=True)
class Settings:
    root: Path
    manifest: Path
    database_url: str
    secret_key: bytes = field(repr=False)
    public_url: str = "http://127.0.0.1:8000"
    mail: MailSettings = MailSettings()
    # Where each system of the manifest lives: [systems.KEY] tables, passed to the connector registry.
    systems: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # "inline": fulfilment runs in the command or request that starts it; "queue": a worker (privet worker) runs it.
    jobs: str = "inline"
    crypto: CryptoSettings | None = None  # None: no [crypto]; encrypted fields can be shredded, not read or written
    # [retention] daily = true: the job queue's worker applies retention every day at 03:00 UTC (off by default:
    # deleting data on a timer is a decision the privacy team takes, not a default).
    retention_daily: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_sqlite_url(root: Path) -> str:
    return f"sqlite:///{(root / 'privet.db').resolve()}"


def load_settings(root: Path, env: Mapping[str, str] | None = None) -> Settings:
    """privet.toml under `root`, with PRIVET_* environment variables taking precedence."""
    env = os.environ if env is None else env
    path = root / SETTINGS_FILE
    if not path.is_file():
        raise SettingsError(
            f"{root} is not a privet workspace (no {SETTINGS_FILE}); create one with: privet init {root}"
        )
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: {exc}; fix the file or recreate it with privet init") from None
    ws = data.get("workspace", {})
    manifest = root / ws.get("manifest", "manifest")
    url = env.get("PRIVET_DATABASE_URL") or ws.get("database_url") or default_sqlite_url(root)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{(root / url.removeprefix('sqlite:///')).resolve()}"  # relative to the workspace
    key_hex = env.get("PRIVET_SECRET_KEY") or data.get("secrets", {}).get("secret_key")
    if not key_hex:
        raise SettingsError(f"{path}: no [secrets] secret_key and no PRIVET_SECRET_KEY in the environment")
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        raise SettingsError("the secret key must be hexadecimal (privet init writes one)") from None
    if len(key) < 32:
        raise SettingsError("the secret key must be at least 32 bytes (64 hex digits)")
    mail = data.get("mail", {})
    return Settings(
        root=root,
        manifest=manifest,
        database_url=url,
        secret_key=key,
        public_url=env.get("PRIVET_PUBLIC_URL") or ws.get("public_url", "http://127.0.0.1:8000"),
        systems=_systems(data.get("systems", {}), root),
        jobs=_jobs(env.get("PRIVET_JOBS") or data.get("jobs", {}).get("mode", "inline")),
        crypto=_crypto(data["crypto"], root, path, env) if "crypto" in data else None,
        retention_daily=_flag(data.get("retention", {}).get("daily", False), "[retention] daily"),
        mail=MailSettings(
            host=env.get("PRIVET_SMTP_HOST") or mail.get("host"),
            port=int(env.get("PRIVET_SMTP_PORT") or mail.get("port", 587)),
            username=env.get("PRIVET_SMTP_USERNAME") or mail.get("username"),
            password=env.get("PRIVET_SMTP_PASSWORD") or mail.get("password"),
            starttls=bool(mail.get("starttls", True)),
            from_address=mail.get("from_address", "privacy@localhost"),
        ),
    )


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    return value


def _jobs(mode: str) -> str:
    if mode not in ("inline", "queue"):
        raise SettingsError(f"[jobs] mode must be inline or queue, not {mode!r}")
    return mode


_HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2}){32}")
_KEK_HELP = (
    'write [crypto] as active_kek = "kek-2026" and [crypto.keks] with one line per KEK, kek-2026 = "env:VAR"'
    ' or = "path/to/file"; the environment variable or the file holds the 32-byte secret as 64 hex digits'
    ' (make one with: python -c "import secrets; print(secrets.token_hex(32))")'
)


def _crypto(raw: Any, root: Path, path: Path, env: Mapping[str, str]) -> CryptoSettings:
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: [crypto] must be a table; {_KEK_HELP}")
    unknown = sorted(set(raw) - {"active_kek", "keks"})
    if unknown:
        raise SettingsError(f"{path}: [crypto] has unknown keys {', '.join(unknown)}; {_KEK_HELP}")
    keks = raw.get("keks")
    if not isinstance(keks, dict) or not keks:
        raise SettingsError(f"{path}: [crypto] names no KEK; {_KEK_HELP}")
    active = env.get("PRIVET_ACTIVE_KEK") or raw.get("active_kek")
    if not isinstance(active, str) or not active:
        raise SettingsError(f"{path}: [crypto] needs active_kek, the KEK that wraps new data keys (one of"
                            f" {', '.join(sorted(keks))})")  # fmt: skip
    if active not in keks:
        raise SettingsError(f"{path}: [crypto] active_kek {active!r} is not one of [crypto.keks]"
                            f" ({', '.join(sorted(keks))}); add it there or name another")  # fmt: skip
    sources: dict[str, str] = {}
    secrets_by_id: dict[str, bytes] = {}
    for kek_id, source in keks.items():
        where = f"{path}: [crypto.keks] {kek_id}"
        if not isinstance(source, str) or not source.strip():
            raise SettingsError(f'{where} must be "env:VAR" or a file path')
        sources[kek_id] = source
        secrets_by_id[kek_id] = _kek_secret(where, source.strip(), root, env)
        try:
            LocalKek(kek_id, secrets_by_id[kek_id])
        except ValueError as exc:
            raise SettingsError(f"{where}: {exc}") from None
    return CryptoSettings(active, sources, secrets_by_id)


def _kek_secret(where: str, source: str, root: Path, env: Mapping[str, str]) -> bytes:
    if source.startswith("kms:"):
        raise SettingsError(f"{where}: a KMS key is not read from privet.toml; give the runtime a KeyEncryptionKey"
                            " that calls your KMS (open_runtime(root, keks=...)), see the README")  # fmt: skip
    if _HEX_KEY.fullmatch(source):
        raise SettingsError(f"{where} looks like a key itself: never put a KEK in privet.toml; put it in an"
                            " environment variable (env:VAR) or a file only the service can read, and name that here,"
                            " then replace this KEK, which is no longer secret")  # fmt: skip
    if source.startswith("env:"):
        var = source.removeprefix("env:")
        text = env.get(var)
        if not text:
            raise SettingsError(f"{where}: the environment variable {var} is not set; set it to the KEK's 64 hex"
                                " digits before starting privet")  # fmt: skip
        what = f"the environment variable {var}"
    else:
        file = Path(source) if Path(source).is_absolute() else root / source
        try:
            text = file.read_text("ascii")
        except FileNotFoundError:
            raise SettingsError(f"{where}: no file {file}; write the KEK's 64 hex digits there") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{where}: cannot read {file} ({exc}); it must hold the KEK as 64 hex digits") from None
        what = f"the file {file}"
    text = text.strip()
    if not _HEX_KEY.fullmatch(text):
        raise SettingsError(f"{where}: {what} must hold exactly 64 hex digits (a 32-byte KEK), it holds"
                            f" {len(text)} characters that are not; {_KEK_HELP}")  # fmt: skip
    return bytes.fromhex(text)


def _systems(raw: Any, root: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise SettingsError("[systems] must be tables: [systems.KEY] with kind = \"sql\" and url = ...")
    out: dict[str, dict[str, Any]] = {}
    for key, config in raw.items():
        if not isinstance(config, dict) or "kind" not in config:
            raise SettingsError(f"[systems.{key}] needs kind = \"sql\" | \"files\" | \"http\" | \"manual\"")
        config = dict(config)
        url = config.get("url")
        if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            config["url"] = f"sqlite:///{(root / url.removeprefix('sqlite:///')).resolve()}"
        out[key] = config
    return out


def settings_text(manifest: str = "manifest") -> str:
    return f"""# privet workspace settings. PRIVET_* environment variables override these.
[workspace]
manifest = "{manifest}"
# database_url = "postgresql+psycopg://user@host/db"   # default: privet.db beside this file (SQLite)
public_url = "http://127.0.0.1:8000"

[secrets]
# Signs tokens and codes. Keep it private; PRIVET_SECRET_KEY overrides it.
secret_key = "{secrets.token_hex(32)}"

[mail]
# host = "smtp.example.com"
# port = 587
# from_address = "privacy@example.com"
# Put the password in PRIVET_SMTP_PASSWORD, not here.

# Key-encryption keys for fields the manifest marks encrypted. Name where each KEK is, never the KEK itself.
# [crypto]
# active_kek = "kek-1"
# [crypto.keks]
# kek-1 = "env:PRIVET_KEK_1"   # 64 hex digits; or a file path, e.g. "secrets/kek-1.hex"

# Where the manifest's systems live, for fulfilment. Secrets belong in the environment, not here.
# [systems.shop]
# kind = "sql"
# url = "postgresql+psycopg://privet@db.internal/shop"
"""
