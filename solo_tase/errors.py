"""The plugin's error for bad input: what a user gave (a config value, an option, a path, a file's
content) is not what it must be. The message names the key, option or file and the fix; the
command line and the plugin's Hydra callback print it as one line and exit 2 (``USER_ERRORS``).
Any other exception is a bug and keeps its traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user; the message says what and how to fix it."""


class ConfigError(UserError, ValueError):
    """A configuration value or command-line option is missing or out of its allowed range."""


class InputError(UserError, ValueError):
    """A file or argument the user gave does not hold what it must (a split file, a manifest,
    a checkpoint, a dataset folder)."""


class MissingDependency(UserError, ImportError):
    """An optional package the asked-for work needs is not installed (solo-learn, faiss)."""


# What is reported as one line with exit code 2 (the command line, the plugin's Hydra callback):
# the errors above and paths that are missing, taken or not readable. Any other exception is a bug
# and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)
