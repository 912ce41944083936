"""Shared fixtures: the repository's `convnext` CLI (the reference every binding is compared with),
the shared model fixtures, and int8 models compiled once per session."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CONVNEXTKIT_SHARED_FIXTURES", REPO.parent / "shared" / "fixtures"))
DEMO = REPO / "Sources" / "convnext" / "Resources" / "demo"


def shared(relative):
    """A file of ../shared/fixtures, or a skip that says it is missing."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared fixtures sit beside the checkout)")
    return path


class CLI:
    """Runs `convnext` (CONVNEXT_CLI, default .build/release/convnext)."""

    def __init__(self, binary):
        self.binary = binary

    def run(self, *arguments):
        result = subprocess.run([str(self.binary), *map(str, arguments)], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"convnext {' '.join(map(str, arguments))} failed: {result.stderr}")
        return result.stdout

    def infer(self, model, tensor_path, out_path, *flags):
        """The raw logits `convnext infer` writes, as bytes."""
        self.run("infer", model, "--input-tensor", tensor_path, "--output-tensor", out_path, *flags)
        return Path(out_path).read_bytes()

    def classify(self, model, images, *flags):
        """`convnext classify --json`: per image, a list of (index, label, float32 probability)."""
        report = json.loads(self.run("classify", model, *images, "--top", "5", "--json", *flags))
        return [[(e["index"], e.get("label"), np.float32(e["probability"])) for e in r["top"]] for r in report["results"]]


@pytest.fixture(scope="session")
def cli():
    binary = Path(os.environ.get("CONVNEXT_CLI", REPO / ".build" / "release" / "convnext"))
    if not binary.is_file():
        pytest.skip(f"{binary} is not built (run `swift build -c release`, or set CONVNEXT_CLI)")
    return CLI(binary)


@pytest.fixture(scope="session")
def int8_models(cli, tmp_path_factory):
    """examples/digits_int8.yaml compiled to int8 `.cnxk`, with RGB and with NV12 input
    (CONVNEXTKIT_TEST_INT8_DIR: a folder that keeps them between runs)."""
    given = os.environ.get("CONVNEXTKIT_TEST_INT8_DIR")
    folder = Path(given) if given else tmp_path_factory.mktemp("int8")
    models = {}
    yaml = (REPO / "examples" / "digits_int8.yaml").read_text()
    for input_type in ("rgb", "nv12"):
        model = folder / f"digits_{input_type}.cnxk"
        if not model.exists():
            config = folder / f"digits_{input_type}.yaml"
            config.write_text(yaml.replace("input_type_rt: 'rgb'", f"input_type_rt: '{input_type}'"))
            cli.run("compile", config, "--model", DEMO / "convnext_digits.onnx", "--cal-data-dir", DEMO / "calibration",
                    "--working-dir", folder, "--output-prefix", f"digits_{input_type}", "--crop-pct", "1")
        models[input_type] = model
    return models
