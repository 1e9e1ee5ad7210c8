"""Prepare an offline classroom kit: every weight file and dataset the course loads.

Run once on a machine with internet, copy the folder to the classroom (USB stick, shared
drive), and point each learner's environment at it::

    python -m helpers.prepare_offline ~/course-kit          # download, print sizes, verify
    python -m helpers.prepare_offline ~/course-kit --verify-only

    export KERAS_HOME=~/course-kit/keras                  # must be writable: copy it if not
    export TFDS_DATA_DIR=~/course-kit/tensorflow_datasets
    make lab

The kit has the standard layout Keras and TensorFlow Datasets use for their own caches
(``keras/models/*.h5``, ``tensorflow_datasets/<name>/<version>/``), so nothing in the course
needs to know it is offline. Each asset is fetched and then verified in a fresh Python
process whose ``KERAS_HOME`` and ``TFDS_DATA_DIR`` point at the kit (variables are read
when Keras is imported). Verification blocks the network, so it proves the kit alone
suffices.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.errors import CourseError


@dataclass(frozen=True)
class Asset:
    """One thing the course downloads on first use.

    Attributes:
        name: How the kit reports it.
        kind: ``"weights"`` (under ``keras/``) or ``"dataset"`` (under ``tensorflow_datasets/``, or
            ``keras/datasets/`` for an archive Keras' ``get_file`` downloads).
        fetch: Python source that loads it, downloading it if missing (run in a fresh
            process with the kit's variables set).
        needed_by: The notebooks that use it.
        verify: Python source that loads it without downloading; ``fetch`` if empty
            (Keras cannot download when the network is blocked, so for weights the two agree).
    """

    name: str
    kind: str
    fetch: str
    needed_by: str
    verify: str = ""


_BUILD = "from helpers import models; models.build_backbone({!r}, weights='imagenet')"
_FETCH = "from helpers import data; data.prepared_builder({!r})"
_VERIFY = (
    "import tensorflow_datasets as tfds; builder = tfds.builder({0!r})\n"
    "assert builder.is_prepared(), 'dataset {0} is not in the kit'\n"
    "next(iter(builder.as_dataset(split='train').take(1)))"
)
ASSETS: tuple[Asset, ...] = (
    Asset("mobilenet_v2", "weights", _BUILD.format("mobilenet_v2"), "01, 03-07, 09"),
    Asset("mobilenet_v2_0.35", "weights", _BUILD.format("mobilenet_v2_0.35"), "07"),
    Asset("mobilenet_0.25", "weights", _BUILD.format("mobilenet_0.25"), "07"),
    Asset(
        "mobilenet_0.25_classifier (with the ImageNet classifier)",
        "weights",
        "import keras, numpy as np; from helpers import models; "
        "models.load_application(keras.applications.MobileNet, alpha=0.25, weights='imagenet'); "
        "keras.applications.mobilenet.decode_predictions(np.eye(1, 1000), top=1)",
        "00",
    ),
    Asset("vgg16", "weights", _BUILD.format("vgg16"), "06 (falls back to mobilenet_v2 without it)"),
    Asset("tf_flowers", "dataset", _FETCH.format("tf_flowers"), "00-07, 09", _VERIFY.format("tf_flowers")),
    Asset("bccd", "dataset", _FETCH.format("bccd"), "03", _VERIFY.format("bccd")),
    Asset("spoken_digit", "dataset", _FETCH.format("spoken_digit"), "12", _VERIFY.format("spoken_digit")),
    Asset(  # Keras' download cache: keras/datasets/kvasir-seg.zip and its extracted folder
        "kvasir-seg", "dataset", "from helpers import segmentation; segmentation.kvasir_folder()", "13",
        "from helpers import segmentation; folder = segmentation.kvasir_folder()\n"
        "segmentation.read_pairs(folder, segmentation.official_split()['test'][:2], 32)",
    ),
)
"""Everything the notebooks load, in the order the kit fetches it."""


class KitError(CourseError):
    """The kit folder or the asset list given is unusable, or verification failed."""


@dataclass(frozen=True)
class Check:
    """Outcome of loading one asset from the kit."""

    asset: str
    ok: bool
    message: str


def kit_environment(directory: Path, offline: bool) -> dict[str, str]:
    """Return ``os.environ`` with the course's variables pointed at ``directory``.

    With ``offline=True`` every HTTP(S) request goes to a closed local port and fails at
    once, so only what is in the kit can load.
    """
    env = dict(os.environ)
    env["KERAS_HOME"] = str(directory / "keras")
    env["TFDS_DATA_DIR"] = str(directory / "tensorflow_datasets")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if offline:
        for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env[variable] = "http://127.0.0.1:9"
        env["NO_PROXY"] = env["no_proxy"] = ""
    return env


def load_asset(asset: Asset, directory: Path, offline: bool, timeout_s: float = 1800) -> Check:
    """Load ``asset`` in a fresh Python whose variables point at the kit ``directory``.

    With ``offline=True`` the network is blocked and ``asset.verify`` runs (nothing is
    downloaded); otherwise ``asset.fetch`` runs and downloads what is missing.
    """
    project = Path(__file__).resolve().parent.parent
    try:
        finished = subprocess.run(
            [sys.executable, "-c", (asset.verify or asset.fetch) if offline else asset.fetch],
            env=kit_environment(directory, offline),
            cwd=project,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return Check(asset.name, False, f"gave up after {timeout_s:.0f} s")
    if finished.returncode == 0:
        return Check(asset.name, True, "loads")
    last = [line for line in finished.stderr.strip().splitlines() if line.strip()]
    return Check(asset.name, False, last[-1] if last else f"exit status {finished.returncode}")


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (0 if it does not exist)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def select(names: list[str] | None) -> list[Asset]:
    """Return the assets called ``names`` (all when ``None``).

    Raises:
        KitError: For a name the course does not use (the message lists the valid ones).
    """
    if names is None:
        return list(ASSETS)
    by_name = {asset.name.split()[0]: asset for asset in ASSETS}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise KitError(f"Unknown asset(s) {unknown}; choose from {sorted(by_name)}.")
    return [by_name[name] for name in names]


def prepare(directory: Path, assets: list[Asset], verify_only: bool = False) -> list[Check]:
    """Download (unless ``verify_only``) and then verify ``assets`` in ``directory``.

    Raises:
        KitError: If ``directory`` exists but is not a folder, or cannot be written.
    """
    directory = Path(directory).expanduser().resolve()
    if directory.exists() and not directory.is_dir():
        raise KitError(f"{directory} is a file; give a folder for the kit.")
    if verify_only and not directory.is_dir():
        raise KitError(f"{directory} does not exist; run without --verify-only to create the kit.")
    if not verify_only:
        try:
            (directory / "keras").mkdir(parents=True, exist_ok=True)
            (directory / "tensorflow_datasets").mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise KitError(f"Cannot create the kit in {directory}: {error.strerror}.") from None
        if not os.access(directory / "keras", os.W_OK):
            raise KitError(f"{directory / 'keras'} is not writable; Keras needs a writable KERAS_HOME.")
        for asset in assets:
            print(f"fetching {asset.name} ...", flush=True)
            load_asset(asset, directory, offline=False)
    return [load_asset(asset, directory, offline=True) for asset in assets]


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring. Returns 0 when every asset verifies."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.prepare_offline",
        description="Download the weights and datasets the course uses into DIR and verify them.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="kit folder (created if needed)")
    parser.add_argument("--verify-only", action="store_true", help="check an existing kit, download nothing")
    parser.add_argument("--only", nargs="+", metavar="ASSET",
                        help=f"a subset: {', '.join(a.name.split()[0] for a in ASSETS)}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    try:
        checks = prepare(args.directory, select(args.only), args.verify_only)
    except KitError as error:
        parser.exit(2, f"error: {error}\n")
    directory = args.directory.expanduser().resolve()
    sizes = {
        "keras": folder_bytes(directory / "keras"),
        "tensorflow_datasets": folder_bytes(directory / "tensorflow_datasets"),
    }
    if args.json:
        print(json.dumps({"checks": [c.__dict__ for c in checks], "bytes": sizes}, indent=2))
    else:
        for check in checks:
            print(f"{'ok ' if check.ok else 'BAD'}  {check.asset}: {check.message}")
        for part, size in sizes.items():
            print(f"     {directory / part}: {size / 2**20:.1f} MiB")
        print(f"Point learners at it:\n  export KERAS_HOME={directory / 'keras'}\n"
              f"  export TFDS_DATA_DIR={directory / 'tensorflow_datasets'}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
