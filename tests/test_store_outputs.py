"""tools/store_outputs.py keeps exactly what nbval compares, and nothing else."""

import importlib.util
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

TOOL = Path(__file__).resolve().parent.parent / "tools" / "store_outputs.py"
spec = importlib.util.spec_from_file_location("store_outputs", TOOL)
store_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(store_outputs)


def test_keeps_kept_stdout_drops_stderr_and_unkept_outputs(tmp_path):
    stamp = {"iopub.execute_input": "2026-11-26T01:01:21Z"}
    kept = new_code_cell("print(1)", execution_count=3, metadata={"keep_output": True, "execution": stamp})
    kept.outputs = [new_output("stream", name="stdout", text="1\n"),
                    new_output("stream", name="stderr", text="W0000 /tmp/x noise\n")]
    plain = new_code_cell("plot()", execution_count=4)
    plain.outputs = [new_output("display_data", data={"image/png": "iVBOR"})]
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[kept, plain]), path)
    store_outputs.store_outputs(str(path))
    cells = nbformat.read(path, as_version=4).cells
    assert [o.name for o in cells[0].outputs] == ["stdout"] and cells[0].execution_count == 3
    assert cells[1].outputs == [] and cells[1].execution_count is None
    assert "execution" not in cells[0].metadata and cells[0].metadata["keep_output"] is True
