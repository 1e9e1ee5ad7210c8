"""Say in one line whether a section can run here, instead of failing 40 lines deep.

Sections that need something this machine may lack (an optional package, a dataset that
is neither on disk nor downloadable, a model hub that cannot be reached) call
:func:`missing` first and skip with its message. Nothing pretends: a skipped section
prints why, and runs unchanged where the resources are available.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import tensorflow_datasets as tfds

from helpers import config
from helpers.data import network_available


def missing(
    packages: Sequence[str] = (), datasets: Sequence[str] = (), hosts: Sequence[str] = ()
) -> str | None:
    """Return what is missing for a section to run, as one line, or ``None`` if nothing is.

    Args:
        packages: Importable module names, e.g. ``"keras_hub"``.
        datasets: tfds names that must be prepared on disk or downloadable.
        hosts: Hosts that must accept an HTTPS connection (where weights are downloaded from).
    """
    reasons = []
    absent = [name for name in packages if importlib.util.find_spec(name) is None]
    if absent:
        pip_names = " ".join(name.replace("_", "-") for name in absent)
        reasons.append(f"{', '.join(absent)} not installed (pip install {pip_names})")
    online = {host: network_available(host) for host in hosts}
    for name in datasets:
        try:
            prepared = tfds.builder(name, data_dir=str(config.tfds_data_dir())).is_prepared()
        except tfds.core.registered.DatasetNotFoundError:
            reasons.append(f"no tfds dataset called {name!r}")
            continue
        if not prepared and not network_available():
            reasons.append(f"dataset {name!r} is not on disk and cannot be downloaded (offline)")
    unreachable = [host for host, ok in online.items() if not ok]
    if unreachable:
        reasons.append(f"{', '.join(unreachable)} cannot be reached (offline)")
    return "; ".join(reasons) if reasons else None
