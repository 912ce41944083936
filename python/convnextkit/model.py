"""``Model``: a ConvNeXt classifier opened through libconvnextkit."""

import ctypes
import os
import threading
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from . import _errors, _library

_lock = threading.Lock()
_loaded = None


def _lib():
    """The loaded library (loaded once, on first use)."""
    global _loaded
    if _loaded is not None:
        return _loaded[0]
    with _lock:
        if _loaded is None:
            _loaded = _library.load()
        return _loaded[0]


def library_path():
    """The path of the libconvnextkit in use."""
    _lib()
    return _loaded[1]


def version():
    """The library's version, e.g. ``"0.1.0"``."""
    return _lib().convnextkit_version().decode()


def _check(status):
    """Raises the exception for a failed call, with this thread's message from the library."""
    if status != _errors.OK:
        message = _lib().convnextkit_last_error().decode("utf-8", "replace")
        raise _errors.error_for(status, message)


@dataclass(frozen=True)
class InputDescription:
    """What the model takes and how images become it (``convnextkit_input``)."""

    shape: Tuple[int, int, int, int]
    """The input tensor, float32 NCHW ``(1, channels, height, width)``."""
    classes: int
    """Logits per image."""
    precision: str
    """``"f32"`` or ``"int8"``."""
    format: str
    """The pixel format the deployed model takes: ``"rgb"``; ``"nv12"``, ``"bgr"``, ... for a compiled ``.cnxk``."""
    engine: str
    """``"fast-f32"``, ``"reference"`` or ``"int8"``."""
    variant: str
    """``"atto"``, ``"femto"``, ... or ``"custom"``."""
    parameters: Optional[int]
    """Parameter count, when known."""
    size: int
    """Side of the square crop photos are brought to."""
    crop_pct: float
    """timm's crop_pct."""
    interpolation: str
    """``"bicubic"`` or ``"bilinear"``."""
    resize_mode: str
    """``"crop"`` or ``"letterbox"``."""
    mean: Tuple[float, float, float]
    """Per-channel mean in 0...1."""
    std: Tuple[float, float, float]
    """Per-channel standard deviation in 0...1."""

    @property
    def element_count(self):
        """Floats in one input."""
        return int(np.prod(self.shape))


@dataclass(frozen=True)
class Prediction:
    """One ranked class."""

    index: int
    label: Optional[str]
    probability: float


class Model:
    """A ConvNeXt classifier: ``Model(path).infer(x)``, ``.classify("cat.jpg", top=5)``, ``.input``.

    ``path`` is a ``.onnx``, ``.pth``, ``.safetensors`` or ``.cnxk`` (float or int8) file, or a
    registry name already in the cache. Keyword arguments change the model's own settings
    (``size`` and ``crop_pct`` as ``convnext classify --size --crop-pct``; ``precision="bf16"`` as
    ``--precision bf16``, for float models on CPUs with AVX512-BF16 or AMX-BF16). One model may be called
    from many threads at once; the calls release the GIL.
    """

    def __init__(self, path, *, size=None, crop_pct=None, interpolation=None, resize_mode=None, mean=None,
                 std=None, labels=None, engine=None, threads=None, nv12_range=None, exif_orientation=False,
                 precision=None):
        lib = _lib()
        options = _library.Options()
        lib.convnextkit_options_init(ctypes.byref(options))
        options.input_size = int(size or 0)
        options.threads = int(threads or 0)
        options.crop_pct = float(crop_pct or 0)
        options.apply_exif_orientation = 1 if exif_orientation else 0
        if (mean is None) != (std is None):
            raise _errors.InvalidArgumentError(_errors.INVALID_ARGUMENT, "give mean and std together")
        if std is not None:
            options.mean = (ctypes.c_float * 3)(*self._channels(mean, "mean"))
            options.std = (ctypes.c_float * 3)(*self._channels(std, "std"))
        options.engine = self._text(engine)
        options.interpolation = self._text(interpolation)
        options.resize_mode = self._text(resize_mode)
        options.nv12_range = self._text(nv12_range)
        options.labels_path = os.fsencode(labels) if labels is not None else None
        options.precision = self._text(precision)
        handle = ctypes.c_void_p()
        _check(lib.convnextkit_open(os.fsencode(path), ctypes.byref(options), ctypes.byref(handle)))
        self._handle = handle
        self.path = os.fspath(path)
        try:
            self.input = self._describe()
            self.labels = self._read_labels()
        except BaseException:
            self.close()
            raise
        # Kept as plain ints and tuples: `infer` is on the hot path.
        self._element_count = self.input.element_count
        self._classes = self.input.classes
        self._image_shape = self.input.shape[1:]

    @staticmethod
    def _text(value):
        return None if value is None else str(value).encode()

    @staticmethod
    def _channels(values, name):
        values = [float(v) for v in (values if np.ndim(values) else [values] * 3)]
        if len(values) != 3:
            raise _errors.InvalidArgumentError(_errors.INVALID_ARGUMENT, f"{name} needs 1 or 3 values, got {len(values)}")
        return values

    def _describe(self):
        raw = _library.Input(struct_size=ctypes.sizeof(_library.Input))
        _check(_lib().convnextkit_get_input(self._live(), ctypes.byref(raw)))
        return InputDescription(
            shape=(1, raw.channels, raw.height, raw.width), classes=raw.classes, precision=raw.precision.decode(),
            format=raw.format.decode(), engine=raw.engine.decode(), variant=raw.variant.decode(),
            parameters=None if raw.parameters < 0 else raw.parameters, size=raw.size, crop_pct=raw.crop_pct,
            interpolation=raw.interpolation.decode(), resize_mode=raw.resize_mode.decode(),
            mean=tuple(raw.mean), std=tuple(raw.std))

    def _read_labels(self):
        lib, handle = _lib(), self._live()
        names = [lib.convnextkit_label(handle, i) for i in range(self.input.classes)]
        return None if any(n is None for n in names) else [n.decode("utf-8", "replace") for n in names]

    def _live(self):
        if self._handle is None:
            raise _errors.InvalidArgumentError(_errors.INVALID_ARGUMENT, f"{self.path}: the model is closed")
        return self._handle

    @staticmethod
    def _threads(threads):
        return 0 if threads is None else int(threads)

    def infer(self, x, threads=None):
        """Logits for float32 NCHW input: ``(C, H, W)`` or ``(N, C, H, W)`` in, ``(N, classes)`` out.

        The array is passed to the library without a copy when it is already C-contiguous float32.
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim == 3:
            x = x[np.newaxis]
        if x.ndim != 4 or x.shape[1:] != self._image_shape or x.shape[0] == 0:
            shape = ", ".join(map(str, self._image_shape))
            raise _errors.InvalidInputError(
                _errors.INVALID_INPUT, f"input of shape {tuple(x.shape)}: the model takes (N, {shape}) or ({shape}) float32")
        infer, handle, t = _lib().convnextkit_infer, self._live(), self._threads(threads)
        count, classes = self._element_count, self._classes
        logits = np.empty((x.shape[0], classes), dtype=np.float32)
        source, target = x.ctypes.data, logits.ctypes.data
        for i in range(x.shape[0]):
            status = infer(handle, source + 4 * count * i, count, target + 4 * classes * i, classes, t)
            if status != _errors.OK:
                _check(status)
        return logits

    def preprocess(self, image):
        """The model's input tensor ``(1, C, H, W)`` for a JPEG or PNG (a path, or the file's bytes)."""
        data = self._image_bytes(image)
        tensor = np.empty(self.input.shape, dtype=np.float32)
        _check(_lib().convnextkit_preprocess_image(self._live(), data, len(data), tensor.ctypes.data, tensor.size))
        return tensor

    def classify(self, image, top=5, threads=None) -> List[Prediction]:
        """The ``top`` most probable classes of a JPEG or PNG (a path, or the file's bytes), best first.

        A path is read by the library, so errors name the file as ``convnext classify`` does.
        """
        k = self._top(top)
        results = (_library.Prediction * k)()
        lib, handle, t = _lib(), self._live(), self._threads(threads)
        if isinstance(image, (str, os.PathLike)):
            _check(lib.convnextkit_classify_file(handle, os.fsencode(image), results, k, None, 0, t))
        else:
            data = self._image_bytes(image)
            _check(lib.convnextkit_classify_image(handle, data, len(data), results, k, None, 0, t))
        return self._predictions(results)

    def classify_nv12(self, frame, width, height, top=5, threads=None) -> List[Prediction]:
        """The ``top`` most probable classes of a raw NV12 frame (``width * height * 3 // 2`` bytes)."""
        data = self._image_bytes(frame)
        k = self._top(top)
        results = (_library.Prediction * k)()
        _check(_lib().convnextkit_classify_nv12(self._live(), data, len(data), int(width), int(height), results, k,
                                                None, 0, self._threads(threads)))
        return self._predictions(results)

    @staticmethod
    def _top(top):
        if int(top) < 1:
            raise _errors.InvalidArgumentError(_errors.INVALID_ARGUMENT, f"top must be at least 1, not {top}")
        return int(top)

    @staticmethod
    def _image_bytes(image):
        if isinstance(image, (str, os.PathLike)):
            with open(image, "rb") as f:
                return f.read()
        if isinstance(image, np.ndarray):
            return np.ascontiguousarray(image, dtype=np.uint8).tobytes()
        return bytes(image)

    def _predictions(self, results):
        return [Prediction(index=r.index, label=self.labels[r.index] if self.labels else None,
                           probability=float(r.probability)) for r in results if r.index >= 0]

    def close(self):
        """Frees the model now (otherwise when it is garbage-collected). Later calls raise."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None and _loaded is not None:
            _loaded[0].convnextkit_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        i = self.input
        return f"Model({self.path!r}: {i.variant} {i.precision}, input {i.shape} {i.format}, {i.classes} classes)"
