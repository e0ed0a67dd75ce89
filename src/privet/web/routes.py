"""Every page of privet's web side, as one router the application includes: the privacy center, the console,
and the static files they use."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from privet.web import center, console, console_data, preferences

STATIC = Path(__file__).parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = APIRouter(include_in_schema=False)
router.include_router(center.router)
router.include_router(preferences.router)
router.include_router(console.router)
router.include_router(console_data.router)


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=3600"})
