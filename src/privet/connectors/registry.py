"""Connector factories by kind, and `connector_for` to build a system's connector from its settings.

Built-in kinds register here the same way a plugin's would. Each factory validates its settings into a frozen
model; a mistake is reported by key, never with the value (settings hold passwords and tokens).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from privet.fulfilment.ports import Connector, ConnectorError, ConnectorFactory

Build = Callable[[str, Mapping[str, Any]], Connector]


@dataclass
class Factory:  # not frozen: the port declares `kind` a plain attribute
    kind: str
    build: Build

    def __call__(self, system: str, config: Mapping[str, Any]) -> Connector:
        return self.build(system, config)


FACTORIES: dict[str, ConnectorFactory] = {}


def register(kind: str, *, replace: bool = False) -> Callable[[Build], Build]:
    """Make `kind` build connectors with the decorated function (system, config) -> Connector."""

    def decorate(build: Build) -> Build:
        if kind in FACTORIES and not replace:
            raise ValueError(f"a connector kind {kind!r} is already registered")
        FACTORIES[kind] = Factory(kind, build)
        return build

    return decorate


def kinds() -> list[str]:
    return sorted(FACTORIES)


def connector_for(system: str, config: Mapping[str, Any]) -> Connector:
    """The connector of `system`, from its settings: {"kind": "sql", "url": ..., ...}."""
    kind = config.get("kind")
    factory = FACTORIES.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise ConnectorError(f"{system}: set the connector kind to one of {', '.join(kinds())} (it is {kind!r})")
    try:
        return factory(system, config)
    except ValidationError as exc:
        raise ConnectorError(f"{system}: the {kind} connector settings are wrong: {explain(exc)}") from None


def explain(error: ValidationError) -> str:
    """The places and reasons of a validation error, without the values (which may be secrets)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in error.errors())


# The built-in kinds import their libraries only when used.


@register("sql")
def _sql(system: str, config: Mapping[str, Any]) -> Connector:
    from privet.connectors import sql

    return sql.from_config(system, config)


@register("files")
def _files(system: str, config: Mapping[str, Any]) -> Connector:
    from privet.connectors import files

    return files.from_config(system, config)


@register("http")
def _http(system: str, config: Mapping[str, Any]) -> Connector:
    from privet.connectors import http

    return http.from_config(system, config, os.environ)


@register("manual")
def _manual(system: str, config: Mapping[str, Any]) -> Connector:
    from privet.connectors import manual

    return manual.from_config(system, config)
