"""Errors a user can cause, with messages that name the thing to fix.

The CLI turns every ``LibraGuardError`` into a one-line message and a non-zero exit code; any
other exception is a bug and keeps its traceback (shown with ``LIBRA_DEBUG=1``).
"""


class LibraGuardError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class DataError(LibraGuardError):
    """A data file or URI cannot be read, parsed or written."""


class ConfigError(LibraGuardError):
    """A configuration value or file is invalid."""


class ModelError(LibraGuardError):
    """A model cannot be built, loaded or saved."""
