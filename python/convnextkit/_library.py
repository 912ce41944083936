"""Finding and loading libconvnextkit, and the ctypes view of convnextkit.h.

The structures below mirror Sources/CConvNeXtKitAPI/include/convnextkit.h field by field; the
library checks each structure's ``struct_size`` against its own, so a mismatch is an error, not
memory corruption.
"""

import ctypes
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

LIBRARY_NAME = "libconvnextkit.dylib" if sys.platform == "darwin" else "libconvnextkit.so"
ENVIRONMENT_VARIABLE = "CONVNEXTKIT_LIBRARY"


class Options(ctypes.Structure):
    """``convnextkit_options``."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("input_size", ctypes.c_int32),
        ("threads", ctypes.c_int32),
        ("apply_exif_orientation", ctypes.c_int32),
        ("crop_pct", ctypes.c_double),
        ("mean", ctypes.c_float * 3),
        ("std", ctypes.c_float * 3),
        ("engine", ctypes.c_char_p),
        ("interpolation", ctypes.c_char_p),
        ("resize_mode", ctypes.c_char_p),
        ("nv12_range", ctypes.c_char_p),
        ("labels_path", ctypes.c_char_p),
        ("precision", ctypes.c_char_p),
    ]


class Input(ctypes.Structure):
    """``convnextkit_input``."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("channels", ctypes.c_int32),
        ("height", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("element_count", ctypes.c_int64),
        ("classes", ctypes.c_int32),
        ("has_labels", ctypes.c_int32),
        ("parameters", ctypes.c_int64),
        ("precision", ctypes.c_char_p),
        ("format", ctypes.c_char_p),
        ("engine", ctypes.c_char_p),
        ("variant", ctypes.c_char_p),
        ("size", ctypes.c_int32),
        ("crop_pct", ctypes.c_double),
        ("interpolation", ctypes.c_char_p),
        ("resize_mode", ctypes.c_char_p),
        ("mean", ctypes.c_float * 3),
        ("std", ctypes.c_float * 3),
    ]


class Prediction(ctypes.Structure):
    """``convnextkit_prediction``."""

    _fields_ = [("index", ctypes.c_int32), ("probability", ctypes.c_float)]


# Float buffers are passed as addresses (numpy's `.ctypes.data`): converting an int is several
# times cheaper than building a typed pointer, and `infer` is called per image.
_float_p = ctypes.c_void_p
_status = ctypes.c_int32
_size = ctypes.c_size_t
_handle = ctypes.c_void_p

# name: (result type, argument types)
_PROTOTYPES = {
    "convnextkit_version": (ctypes.c_char_p, []),
    "convnextkit_status_string": (ctypes.c_char_p, [_status]),
    "convnextkit_last_error": (ctypes.c_char_p, []),
    "convnextkit_max_threads": (ctypes.c_int32, []),
    "convnextkit_options_init": (None, [ctypes.POINTER(Options)]),
    "convnextkit_open": (_status, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(_handle)]),
    "convnextkit_close": (None, [_handle]),
    "convnextkit_get_input": (_status, [_handle, ctypes.POINTER(Input)]),
    "convnextkit_label": (ctypes.c_char_p, [_handle, ctypes.c_int32]),
    "convnextkit_infer": (_status, [_handle, _float_p, _size, _float_p, _size, ctypes.c_int32]),
    "convnextkit_preprocess_image": (_status, [_handle, ctypes.c_void_p, _size, _float_p, _size]),
    "convnextkit_classify_image": (_status, [_handle, ctypes.c_void_p, _size, ctypes.POINTER(Prediction), _size,
                                             _float_p, _size, ctypes.c_int32]),
    "convnextkit_classify_file": (_status, [_handle, ctypes.c_char_p, ctypes.POINTER(Prediction), _size,
                                            _float_p, _size, ctypes.c_int32]),
    "convnextkit_classify_nv12": (_status, [_handle, ctypes.c_void_p, _size, ctypes.c_int32, ctypes.c_int32,
                                            ctypes.POINTER(Prediction), _size, _float_p, _size, ctypes.c_int32]),
}


def _installed_from():
    """The source folder pip installed this package from (PEP 610 ``direct_url.json``), or None."""
    try:
        text = metadata.distribution("convnextkit").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    url = json.loads(text).get("url", "")
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def candidates():
    """Where the library is looked for, in order: the environment variable, beside the package,
    the release build folder of the checkout it was installed from, of the checkout it runs from."""
    here = Path(__file__).resolve().parent
    found = []
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        path = Path(configured)
        found.append(path / LIBRARY_NAME if path.is_dir() else path)
        return found  # an explicit choice is never second-guessed
    found.append(here / LIBRARY_NAME)
    source = _installed_from()
    if source is not None:
        found.append(source.parent / ".build" / "release" / LIBRARY_NAME)
    found.append(here.parent.parent / ".build" / "release" / LIBRARY_NAME)
    return found


def load():
    """Loads the library and declares its functions; raises OSError naming every place tried."""
    tried = candidates()
    for path in tried:
        if path.is_file():
            library = ctypes.CDLL(str(path))  # CDLL, not PyDLL: calls release the GIL
            for name, (result, arguments) in _PROTOTYPES.items():
                function = getattr(library, name)
                function.restype = result
                function.argtypes = arguments
            return library, path
    raise OSError(
        f"{LIBRARY_NAME} not found (looked at {', '.join(str(p) for p in tried)}); build it with "
        f"`swift build -c release` in the ConvNeXtKit checkout, or set {ENVIRONMENT_VARIABLE} to its path")
