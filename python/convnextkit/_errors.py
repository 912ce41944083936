"""Exceptions: each failing C call becomes one, carrying the library's status code and message."""

OK = 0
INVALID_ARGUMENT = 1
IO = 2
INVALID_MODEL = 3
UNSUPPORTED_MODEL = 4
INVALID_INPUT = 5
INVALID_CONFIG = 6
INTERNAL = 7


class ConvNeXtKitError(Exception):
    """Base of every error the library reports; ``status`` is the C status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidArgumentError(ConvNeXtKitError, ValueError):
    """A bad argument: an option value, a thread count, a closed model."""


class FileError(ConvNeXtKitError, OSError):
    """A file that could not be opened or read."""


class InvalidModelError(ConvNeXtKitError):
    """A model file that is not readable as the format it claims."""


class UnsupportedModelError(ConvNeXtKitError):
    """A readable model that is not a ConvNeXt the library runs."""


class InvalidInputError(ConvNeXtKitError, ValueError):
    """Input data of the wrong shape, size or content (tensor, image, NV12 frame)."""


class InvalidConfigError(ConvNeXtKitError, ValueError):
    """A wrong configuration value (preprocessing, a labels file)."""


_BY_STATUS = {
    INVALID_ARGUMENT: InvalidArgumentError,
    IO: FileError,
    INVALID_MODEL: InvalidModelError,
    UNSUPPORTED_MODEL: UnsupportedModelError,
    INVALID_INPUT: InvalidInputError,
    INVALID_CONFIG: InvalidConfigError,
}


def error_for(status, message):
    """The exception for a C status code and its message."""
    return _BY_STATUS.get(status, ConvNeXtKitError)(status, message)
