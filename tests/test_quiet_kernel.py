"""The kernel learners get keeps TensorFlow's native log lines out of the notebook's cells."""

from __future__ import annotations

import queue
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import install_kernel  # noqa: E402


def _run(kernel_name: str, code: str) -> list[tuple[str, str]]:
    """Execute ``code`` in a fresh kernel; return the (stream name, text) outputs it sent."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name=kernel_name, startup_timeout=120)
    try:
        message_id = client.execute(code)
        streams = []
        while True:
            try:
                message = client.get_iopub_msg(timeout=180)
            except queue.Empty:
                pytest.fail("the kernel stopped answering")
            if message["parent_header"].get("msg_id") != message_id:
                continue
            if message["msg_type"] == "stream":
                streams.append((message["content"]["name"], message["content"]["text"]))
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return streams
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_spec_sets_the_quiet_defaults(tmp_path):
    path = install_kernel.install(tmp_path)
    spec = install_kernel.json.loads(path.read_text())
    assert "--IPKernelApp.capture_fd_output=False" in spec["argv"] and spec["env"]["TF_CPP_MIN_LOG_LEVEL"] == "2"


@pytest.mark.skipif(not (Path(sys.prefix) / "share/jupyter/kernels/python3/kernel.json").exists(),
                    reason="the course kernel is installed by `make setup` (tools/install_kernel.py)")
def test_a_cell_that_starts_tensorflow_shows_only_what_it_prints(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # the kernel must be quiet on its own
    code = ("import tensorflow as tf\nprint('sum', int(tf.reduce_sum(tf.ones(3))))\n"
            "tf.distribute.MirroredStrategy()  # logs 'INFO:tensorflow:Using MirroredStrategy ...'\n"
            "for _ in range(6):  # a fresh function per run, as for a fresh model: 'triggered tf.function retracing'\n"
            "    tf.function(lambda x: x + 1)(tf.ones(1))\n"
            "tf.get_logger().warning('a warning still shows')")
    streams = _run("python3", code)
    assert "".join(text for _, text in streams) == "sum 3\nWARNING:tensorflow:a warning still shows\n", streams
