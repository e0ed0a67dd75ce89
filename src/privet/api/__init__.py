"""privet's HTTP side: the REST API (FastAPI, OpenAPI at /openapi.json), staff authentication and roles."""

from privet.api.app import create_app, get_runtime

__all__ = ["create_app", "get_runtime"]
