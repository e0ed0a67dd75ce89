"""Where the company's data lives: SQL databases, lake files, HTTP services, and systems people handle by hand.

Each connector implements privet.fulfilment.ports.Connector; `connector_for` builds one from a system's settings.
"""

from privet.connectors.files import FilesConnector
from privet.connectors.http import HttpConnector
from privet.connectors.http_spec import HttpSpec
from privet.connectors.manual import ManualAction, ManualConnector, ManualTask
from privet.connectors.registry import connector_for, kinds, register
from privet.connectors.sql import SqlConnector

__all__ = [
    "FilesConnector",
    "HttpConnector",
    "HttpSpec",
    "ManualAction",
    "ManualConnector",
    "ManualTask",
    "SqlConnector",
    "connector_for",
    "kinds",
    "register",
]
