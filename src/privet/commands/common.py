"""What every command shares: consoles, exit codes, the workspace option, and turning errors into messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from privet.manifest.diagnostics import Diagnostic, ManifestUnreadable, Severity

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FINDINGS = 1  # findings, a refused request, a denied decision asked with --fail-on-deny
EXIT_UNREADABLE = 2  # input that cannot be read, a command used wrongly

WorkspaceOption = Annotated[
    Path,
    typer.Option("--workspace", "-w", envvar="PRIVET_WORKSPACE", help="The workspace folder (privet init makes one)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def fail(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def print_diagnostics(diagnostics: list[Diagnostic], console: Console) -> None:
    for d in diagnostics:
        style = "red" if d.severity is Severity.ERROR else "yellow"
        console.print(f"[{style}]{d.render()}[/{style}]", markup=True, highlight=False)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str, sort_keys=True))


@contextmanager
def workspace(root: Path) -> Iterator[Any]:
    """The opened workspace; every expected failure becomes a message naming the fix, not a traceback."""
    from sqlalchemy.exc import OperationalError

    from privet.workspace.runtime import open_runtime
    from privet.workspace.settings import SettingsError

    try:
        runtime = open_runtime(root)
    except SettingsError as exc:
        fail(str(exc))
    except ManifestUnreadable as exc:
        print_diagnostics(exc.diagnostics, err)
        fail(f"the workspace's manifest could not be read; fix it, then run privet check {root / 'manifest'}")
    except OperationalError as exc:
        fail(f"cannot open the database: {str(exc.orig).splitlines()[0]}; check database_url or PRIVET_DATABASE_URL")
    try:
        yield runtime
    finally:
        runtime.close()
