"""Server-rendered pages: the privacy center (public) and the staff console, included by the API application."""

from privet.web.routes import router

__all__ = ["router"]
