"""The one exception type of :mod:`lib.datasets`."""


class DataError(ValueError):
    """Bad input data. The message names the file, the line or column, and how to fix it."""
