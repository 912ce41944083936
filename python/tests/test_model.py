"""convnextkit.Model against the `convnext` CLI: the same logits bit for bit, the same top-5, the
same errors; int8 models; many threads on one model."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import convnextkit
from conftest import REPO, shared

GOLDEN_MODELS = ["tiny_opset11", "tiny_opset13", "tiny_opset17", "tiny_linear_opset11", "tiny_linear_opset17",
                 "convnext_atto"]
PHOTOS = ["astronaut.jpg", "astronaut.png", "chelsea.jpg", "chelsea.png", "coffee.jpg", "coffee.png",
          "rocket.jpg", "rocket.png"]
DIGITS_FLAGS = ["--size", "64", "--crop-pct", "1"]


def digits_images(count=6):
    """The first validation image of `count` digit classes."""
    root = shared("digits/val")
    return [sorted((root / str(c)).iterdir())[0] for c in range(count)]


def as_cli(predictions):
    return [(p.index, p.label, np.float32(p.probability)) for p in predictions]


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_infer_equals_cli_bit_for_bit_on_goldens(cli, tmp_path, name):
    model_path = shared(f"models/{name}.onnx")
    golden_input = shared(f"golden/{name}/input.f32")
    expected = cli.infer(model_path, golden_input, tmp_path / "cli.f32")
    model = convnextkit.Model(model_path)
    x = np.fromfile(golden_input, dtype="<f4").reshape(model.input.shape)
    logits = model.infer(x)
    assert logits.shape == (1, model.input.classes)
    assert logits.tobytes() == expected
    # And close to PyTorch's, so that equality above is not two equal wrong answers.
    golden = np.fromfile(shared(f"golden/{name}/output.f32"), dtype="<f4")
    assert np.abs(logits[0] - golden).max() <= 1e-5 * np.abs(golden).max()


def test_infer_equals_cli_on_digits_images_and_batches(cli, tmp_path):
    model_path = shared("digits/convnext_digits.onnx")
    tensors = []
    for i, image in enumerate(digits_images()):
        out = tmp_path / f"{i}.f32"
        cli.run("preprocess", image, "--model", model_path, *DIGITS_FLAGS, "--output-tensor", out)
        tensors.append(out.read_bytes())
    batch = tmp_path / "batch.f32"
    batch.write_bytes(b"".join(tensors))
    expected = cli.infer(model_path, batch, tmp_path / "cli.f32", "--size", "64")
    model = convnextkit.Model(model_path, size=64, crop_pct=1)
    x = np.frombuffer(b"".join(tensors), dtype="<f4").reshape(len(tensors), 3, 64, 64)
    assert model.infer(x).tobytes() == expected
    # The library's own preprocessing gives the CLI's tensor.
    assert model.preprocess(digits_images()[0]).tobytes() == tensors[0]


def test_classify_equals_cli_on_photos(cli):
    model_path = shared("models/convnext_atto.onnx")
    photos = [shared(f"images/{p}") for p in PHOTOS]
    expected = cli.classify(model_path, photos)
    model = convnextkit.Model(model_path)
    for photo, want in zip(photos, expected):
        assert as_cli(model.classify(str(photo), top=5)) == want, photo
        assert as_cli(model.classify(photo.read_bytes(), top=5)) == want, photo


def test_classify_equals_cli_on_digits(cli):
    model_path = shared("digits/convnext_digits.onnx")
    images = digits_images()
    expected = cli.classify(model_path, images, *DIGITS_FLAGS)
    model = convnextkit.Model(model_path, size=64, crop_pct=1)
    assert model.labels is None  # 10 classes: no ImageNet names, as the CLI
    assert [as_cli(model.classify(image)) for image in images] == expected
    # The digits are recognised, so the comparison is of a working model.
    assert sum(model.classify(image, top=1)[0].index == int(image.parent.name) for image in images) >= 5


def test_int8_model_equals_cli(cli, int8_models, tmp_path):
    images = digits_images()
    model_path = int8_models["rgb"]
    model = convnextkit.Model(model_path)
    assert (model.input.precision, model.input.engine, model.input.shape) == ("int8", "int8", (1, 3, 64, 64))
    assert [as_cli(model.classify(image)) for image in images] == cli.classify(model_path, images)
    # A compiled model takes pixel-domain input; any tensor of the right shape must match the CLI.
    x = np.random.default_rng(7).uniform(0, 255, size=(2, 3, 64, 64)).astype(np.float32)
    x.tofile(tmp_path / "x.f32")
    assert model.infer(x).tobytes() == cli.infer(model_path, tmp_path / "x.f32", tmp_path / "cli.f32")


def test_int8_nv12_model_classifies_frames_as_cli(cli, int8_models, tmp_path):
    model_path = int8_models["nv12"]
    model = convnextkit.Model(model_path)
    assert model.input.format == "nv12"
    for i, image in enumerate(digits_images(3)):
        frame = tmp_path / f"{i}.nv12"
        cli.run("preprocess", image, "--size", "64", "--crop-pct", "1", "--output-nv12", frame)
        expected = cli.classify(model_path, [frame], "--nv12", "64x64")[0]
        assert as_cli(model.classify_nv12(frame.read_bytes(), 64, 64)) == expected


def test_input_description(cli):
    model = convnextkit.Model(shared("models/convnext_atto.onnx"))
    i = model.input
    assert (i.shape, i.classes, i.precision, i.format, i.variant) == ((1, 3, 224, 224), 1000, "f32", "rgb", "atto")
    assert (i.size, i.interpolation, i.resize_mode, i.element_count) == (224, "bicubic", "crop", 3 * 224 * 224)
    assert i.parameters == 3695520  # the figure the README and `convnext info` give for atto
    assert len(model.labels) == 1000 and model.labels[281].startswith("tabby")


def test_bad_paths_raise_with_the_library_message(tmp_path):
    with pytest.raises(convnextkit.FileError, match="/nonexistent/model.onnx: no such file") as error:
        convnextkit.Model("/nonexistent/model.onnx")
    assert isinstance(error.value, OSError) and error.value.status == 2
    with pytest.raises(convnextkit.FileError, match="is a directory"):
        convnextkit.Model(tmp_path)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(convnextkit.InvalidModelError, match="not a valid model"):
        convnextkit.Model(garbage)
    model = convnextkit.Model(shared("models/tiny_opset11.onnx"))
    with pytest.raises(convnextkit.FileError, match="/nonexistent.jpg"):
        model.classify("/nonexistent.jpg")
    with pytest.raises(convnextkit.InvalidInputError, match="not an image"):
        model.classify(b"\x00" * 100)
    with pytest.raises(convnextkit.FileError, match="labels.txt"):
        convnextkit.Model(shared("models/tiny_opset11.onnx"), labels=tmp_path / "labels.txt")


@pytest.mark.parametrize("shape", [(1, 3, 64, 63), (3, 64), (2, 1, 64, 64), (0, 3, 64, 64), (1, 1, 3, 64, 64)])
def test_bad_shapes_raise(shape):
    model = convnextkit.Model(shared("models/tiny_opset11.onnx"))
    with pytest.raises(convnextkit.InvalidInputError, match="the model takes") as error:
        model.infer(np.zeros(shape, dtype=np.float32))
    assert isinstance(error.value, ValueError)


def test_bad_arguments_raise():
    path = shared("models/tiny_opset11.onnx")
    with pytest.raises(convnextkit.InvalidArgumentError, match="crop_pct"):
        convnextkit.Model(path, crop_pct=1.5)
    with pytest.raises(convnextkit.InvalidArgumentError, match="not one of"):
        convnextkit.Model(path, engine="turbo")
    model = convnextkit.Model(path)
    x = np.zeros(model.input.shape, dtype=np.float32)
    with pytest.raises(convnextkit.InvalidArgumentError, match="threads"):
        model.infer(x, threads=10_000)
    with pytest.raises(convnextkit.InvalidInputError, match="NV12"):
        model.classify_nv12(b"\x80" * 100, 64, 64)
    with pytest.raises(convnextkit.InvalidArgumentError, match="top"):
        model.classify(shared("images/chelsea.jpg"), top=0)
    model.close()
    with pytest.raises(convnextkit.InvalidArgumentError, match="closed"):
        model.infer(x)


def cpu_has_bf16():
    """AVX512-BF16 or AMX-BF16 in /proc/cpuinfo: what `precision="bf16"` needs."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def test_bf16_precision_equals_cli_or_is_refused(cli, tmp_path):
    path = shared("models/tiny_opset11.onnx")
    golden_input = shared("golden/tiny_opset11/input.f32")
    with pytest.raises(convnextkit.InvalidArgumentError, match="bf16"):
        convnextkit.Model(path, precision="fp8")
    if not cpu_has_bf16():
        with pytest.raises(convnextkit.ConvNeXtKitError, match="bf16"):
            convnextkit.Model(path, precision="bf16")
        pytest.skip("this CPU has neither AVX512-BF16 nor AMX-BF16 (checked that bf16 is refused)")
    model = convnextkit.Model(path, precision="bf16")
    assert (model.input.precision, model.input.engine) == ("bf16", "fast-bf16")
    x = np.fromfile(golden_input, dtype="<f4").reshape(model.input.shape)
    expected = cli.infer(path, golden_input, tmp_path / "cli.f32", "--precision", "bf16")
    assert model.infer(x).tobytes() == expected
    assert model.infer(x).tobytes() != convnextkit.Model(path).infer(x).tobytes()


def test_reference_engine_and_float64_input_agree():
    path = shared("models/tiny_opset11.onnx")
    fast, reference = convnextkit.Model(path), convnextkit.Model(path, engine="reference")
    assert reference.input.engine == "reference"
    x = np.random.default_rng(3).standard_normal(fast.input.shape)  # float64: converted once
    a, b = fast.infer(x), reference.infer(x)
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
    assert fast.infer(x).tobytes() == fast.infer(x.astype(np.float32)).tobytes()


def test_many_threads_on_one_model_equal_sequential_calls():
    model = convnextkit.Model(shared("models/convnext_atto.onnx"))
    rng = np.random.default_rng(11)
    inputs = [rng.standard_normal(model.input.shape).astype(np.float32) for _ in range(8)]
    # Logits are deterministic per thread count; 1 and 2 threads split sums differently.
    sequential = {t: [model.infer(x, threads=t) for x in inputs] for t in (1, 2)}
    results = [[None] * 3 for _ in inputs]
    errors = []

    def threads_of(i, r):
        return 1 + (i + r) % 2

    def work(i):
        try:
            for r in range(3):
                results[i][r] = model.infer(inputs[i], threads=threads_of(i, r))
        except Exception as e:  # reported below; a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(len(inputs)):
        for r, got in enumerate(results[i]):
            assert got.tobytes() == sequential[threads_of(i, r)][i].tobytes(), f"input {i}, call {r}"
    assert len({s.tobytes() for s in sequential[1]}) == len(inputs)  # the inputs really differ


def test_library_location_from_the_environment(tmp_path):
    env = dict(os.environ, CONVNEXTKIT_LIBRARY=str(tmp_path / "missing.so"))
    code = "import convnextkit\ntry:\n    convnextkit.version()\nexcept OSError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "missing.so" in out.stdout and "CONVNEXTKIT_LIBRARY" in out.stdout, out.stdout + out.stderr
    assert Path(convnextkit.library_path()).name.startswith("libconvnextkit")
    assert convnextkit.version() == "0.1.0" == convnextkit.__version__
