"""Hand-written datasets for the fulfilment tests, validated through the manifest's own Dataset model."""

from __future__ import annotations

from typing import Any

from privet.fulfilment.graph import DatasetGraph, build_graph
from privet.manifest.datasets import Dataset


def pk(data_type: str = "integer", **more: Any) -> dict[str, Any]:
    return {"primary_key": True, "data_type": data_type, **more}


def ref(to: str, direction: str | None = "from", **more: Any) -> dict[str, Any]:
    return {"data_type": "integer", "references": [{"to": to, "direction": direction}], **more}


def datasets(raw: dict[str, dict[str, Any]]) -> dict[str, Dataset]:
    return {key: Dataset.model_validate({"key": key, **value}) for key, value in raw.items()}


def graph(raw: dict[str, dict[str, Any]]) -> DatasetGraph:
    return build_graph(datasets(raw))


def shop() -> dict[str, dict[str, Any]]:
    """users.email -> orders.user_id -> order_items.order_id; reviews reached by a reference declared on users
    (direction `to`); a nested identity feeding an undirected reference; an audit log nothing leads to; devices
    found only by serial number."""
    return {
        "shop": {
            "system": "web",
            "collections": {
                "users": {
                    "fields": {
                        "id": pk(
                            categories=["user.unique_id.user_id"],
                            references=[{"to": "shop.reviews.author_id", "direction": "to"}],
                        ),
                        "email": {"data_type": "string", "identity": "email", "categories": ["user.contact.email"]},
                        "name": {"data_type": "string", "categories": ["user.name"]},
                        "profile": {
                            "data_type": "object",
                            "categories": ["user.account"],
                            "fields": {
                                "login_email": {"data_type": "string", "identity": "email"},
                                "address": {"fields": {"city": {"categories": ["user.contact.address.city"]}}},
                            },
                        },
                    }
                },
                "orders": {
                    "fields": {
                        "id": pk(),
                        "user_id": ref("shop.users.id", categories=["user.unique_id.user_id"]),
                        "total": {"data_type": "decimal", "categories": ["user.commercial.order"]},
                    }
                },
                "order_items": {
                    "fields": {
                        "id": pk(),
                        "order_id": ref("shop.orders.id"),
                        "product": {"data_type": "string", "categories": ["user.behavior.purchase_history"]},
                    }
                },
                "reviews": {
                    "fields": {
                        "id": pk(),
                        "author_id": {"data_type": "integer", "categories": ["user.unique_id.user_id"]},
                        "body": {"data_type": "string", "categories": ["user.content.review"]},
                    }
                },
                "audit_log": {"fields": {"id": pk(), "entry": {"data_type": "string"}}},
                "devices": {
                    "fields": {
                        "serial": pk("string", identity="device_serial", categories=["user.device.serial_number"]),
                    }
                },
            },
        },
        "mail": {
            "system": "mailer",
            "collections": {
                "subscribers": {
                    "fields": {
                        "id": pk(),
                        "address": {
                            "data_type": "string",
                            "categories": ["user.contact.email"],
                            "references": [{"to": "shop.users.profile.login_email"}],
                        },
                    }
                }
            },
        },
    }
