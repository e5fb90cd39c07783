"""The plugin's error for bad input: what a user gave (a config value, an option, a path, a file's
content) is not what it must be. The message names the key, option or file and the fix; the
command line prints it as one line and exits 2. Any other exception is a bug and keeps its
traceback."""

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
