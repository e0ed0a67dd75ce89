"""privet serve: the API, the privacy center and the console, with uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated

import typer

from privet.commands import common


def serve(
    workspace: common.WorkspaceOption = Path(),
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (rate limits are per worker).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the workspace over HTTP: REST API (/api/v1, OpenAPI at /openapi.json), banner, pages."""
    import uvicorn

    with common.workspace(workspace) as rt:  # fail here, with a message, rather than in every worker
        public_url = rt.settings.public_url
    os.environ["PRIVET_WORKSPACE"] = str(workspace.resolve())
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    common.err.print(f"privet serving {workspace.resolve()} on http://{host}:{port} ({workers} worker(s), {loop}, "
                     f"{http}); public URL {public_url}", markup=False)  # fmt: skip
    uvicorn.run("privet.api.asgi:application", factory=True, host=host, port=port, workers=workers, loop=loop,
                http=http, access_log=access_log, proxy_headers=True, server_header=False)  # fmt: skip
