"""Workspace settings: read once from privet.toml and the environment, then passed explicitly."""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        mail=MailSettings(
            host=env.get("PRIVET_SMTP_HOST") or mail.get("host"),
            port=int(env.get("PRIVET_SMTP_PORT") or mail.get("port", 587)),
            username=env.get("PRIVET_SMTP_USERNAME") or mail.get("username"),
            password=env.get("PRIVET_SMTP_PASSWORD") or mail.get("password"),
            starttls=bool(mail.get("starttls", True)),
            from_address=mail.get("from_address", "privacy@localhost"),
        ),
    )


def _jobs(mode: str) -> str:
    if mode not in ("inline", "queue"):
        raise SettingsError(f"[jobs] mode must be inline or queue, not {mode!r}")
    return mode


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

# Where the manifest's systems live, for fulfilment. Secrets belong in the environment, not here.
# [systems.shop]
# kind = "sql"
# url = "postgresql+psycopg://privet@db.internal/shop"
"""
