"""claims: a claim prints with its values when it holds and raises with them when not."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import claims


def test_a_true_claim_prints_its_values(capsys):
    assert claims.check("transfer beats scratch", np.float32(0.27) >= 0.2, gain=0.2712, photos=20) is None
    assert capsys.readouterr().out == "✓ transfer beats scratch (gain=0.271, photos=20)\n"


def test_a_false_claim_raises_with_the_measured_values():
    with pytest.raises(claims.ClaimError, match=r"transfer beats scratch \(gain=0.12\)"):
        claims.check("transfer beats scratch", np.bool_(False), gain=0.12)


def test_a_claim_error_is_an_assertion_error():
    """nbval and pytest report it as a failed check, like a plain assert."""
    assert issubclass(claims.ClaimError, AssertionError)


def test_a_claim_needs_words():
    with pytest.raises(ValueError, match="statement"):
        claims.check("  ", True)


def test_a_timing_claim_is_checked_on_a_cpu_and_only_reported_on_a_gpu(capsys, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    claims.check_on_cpu("caching is faster", True, speedup=93.0)
    assert capsys.readouterr().out == "✓ on this CPU, caching is faster (speedup=93)\n"
    with pytest.raises(claims.ClaimError, match="speedup=3"):
        claims.check_on_cpu("caching is faster", False, speedup=3.0)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    claims.check_on_cpu("caching is faster", False, speedup=3.0)
    assert capsys.readouterr().out.startswith("– not checked on a GPU")
