"""ConvNeXt image classifiers on CPUs, float and int8, through libconvnextkit's C API.

>>> import convnextkit
>>> model = convnextkit.Model("convnext_atto.onnx")
>>> model.classify("cat.jpg", top=5)[0].label
"""

from ._errors import (ConvNeXtKitError, FileError, InvalidArgumentError, InvalidConfigError, InvalidInputError,
                      InvalidModelError, UnsupportedModelError)
from .model import InputDescription, Model, Prediction, library_path, version

__all__ = [
    "Model", "InputDescription", "Prediction", "version", "library_path", "ConvNeXtKitError", "InvalidArgumentError",
    "FileError", "InvalidModelError", "UnsupportedModelError", "InvalidInputError", "InvalidConfigError",
]
__version__ = "0.1.0"
