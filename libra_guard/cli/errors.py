"""The one place where exceptions become command-line messages.

Errors a user can cause (``LibraGuardError``) print one red line naming what to fix and exit
with code 2. Anything else is a bug: it prints a short message, and the full traceback only
when ``LIBRA_DEBUG=1``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from libra_guard.errors import LibraGuardError

err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Decorate a command so user errors print a message instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:  # a command's own exit code (e.g. drift found), not an error
            raise
        except LibraGuardError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(code=130) from None
        except Exception as exc:
            if os.environ.get("LIBRA_DEBUG"):
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
                "Run again with LIBRA_DEBUG=1 for the traceback, and report it."
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]
