"""The application for a server process: the workspace comes from PRIVET_WORKSPACE (privet serve sets it).

uvicorn imports `privet.api.asgi:application` as a factory, once per worker process.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from fastapi import FastAPI

from privet.api.app import create_app
from privet.workspace.runtime import open_runtime


def application() -> FastAPI:
    root = Path(os.environ.get("PRIVET_WORKSPACE", ".")).resolve()
    app = create_app(open_runtime(root), close_runtime=True, writer_process=True)
    # What was built at start (manifest, compiled policy, SQL metadata) lives as long as the process: the cyclic
    # collector need not walk it again on every full collection while requests are served.
    gc.freeze()
    return app
