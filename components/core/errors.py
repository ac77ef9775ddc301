"""Errors a user can act on: the CLI prints them as one line and exits non-zero."""


class PipelineError(Exception):
    """A problem with the user's input, stated as what is wrong and how to fix it."""


class ConfigError(PipelineError):
    """A params.yaml section or CLI option that does not fit the stage config."""
