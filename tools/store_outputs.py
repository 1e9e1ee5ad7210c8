"""Keep the outputs nbval compares strictly, and nothing else, in executed notebooks.

Usage: python tools/store_outputs.py notebooks/01_convolution.ipynb [...]

For each code cell: a cell whose metadata has ``keep_output: true`` keeps its outputs
except stderr streams (log noise that differs run to run and names local paths);
every other cell loses its outputs and execution count. Run timestamps (``execution``
metadata) are dropped everywhere. Kept cells keep their counts:
nbval treats a stored output without one as "unrun" and refuses to compare it.
"""

from __future__ import annotations

import sys

import nbformat


def store_outputs(path: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)  # run timestamps: noise in every diff
        if cell.metadata.get("keep_output"):
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
        else:
            cell.execution_count = None
            cell.outputs = []
    nbformat.write(notebook, path)


if __name__ == "__main__":
    for notebook_path in sys.argv[1:]:
        store_outputs(notebook_path)
        print(f"stored kept outputs of {notebook_path}")
