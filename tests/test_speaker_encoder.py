"""Tests for helpers.speaker_encoder: the PyTorch reader, the front end and the Keras rebuild.

References, none of them taken from the code under test:

- the LSTM: a NumPy forward pass written from PyTorch's documented LSTM equations
  (``torch.nn.LSTM``), on the state dict as stored;
- the mel front end: numbers written by librosa 0.11.0 (``tests/librosa_reference.py`` gives
  the exact call);
- the partial windows and the volume rule: Resemblyzer's own functions, read from the
  installed wheel's source and executed here (its modules cannot be imported without PyTorch).
"""

from __future__ import annotations

import ast
import datetime
import importlib.util
import pathlib
import pickle
import sys
import types

import numpy as np
import pytest

from helpers import speaker_encoder
from helpers.errors import CourseError

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def reference_embeddings(state: dict[str, np.ndarray], mels: np.ndarray) -> np.ndarray:
    """PyTorch's LSTM, written out: gates i, f, g, o stacked in that order in weight_ih/weight_hh."""
    x = mels.astype(np.float64)
    for layer in range(3):
        w_ih, w_hh = state[f"lstm.weight_ih_l{layer}"], state[f"lstm.weight_hh_l{layer}"]
        b = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
        h = np.zeros((len(x), 256))
        c = np.zeros((len(x), 256))
        outputs = []
        for t in range(x.shape[1]):
            i, f, g, o = np.split(x[:, t] @ w_ih.T + h @ w_hh.T + b, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            outputs.append(h)
        x = np.stack(outputs, axis=1)
    raw = np.maximum(h @ state["linear.weight"].T + state["linear.bias"], 0)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def state():
    return speaker_encoder.pretrained_state()["model_state"]


@pytest.fixture(scope="module")
def encoder():
    return speaker_encoder.speaker_encoder()


def test_the_checkpoint_reads_as_resemblyzers_network(state):
    assert state["lstm.weight_ih_l0"].shape == (1024, 40) and state["lstm.weight_hh_l2"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256) and all(v.dtype == np.float32 for v in state.values())
    assert speaker_encoder.pretrained_state()["step"] > 1_000_000  # trained, not initialised


def test_keras_rebuild_matches_pytorchs_lstm_equations(state, encoder):
    mels = np.random.default_rng(0).gamma(0.5, 2.0, (3, 40, 40)).astype(np.float32)  # mel powers: >= 0, skewed
    expected = reference_embeddings(state, mels)
    actual = np.asarray(encoder(mels, training=False))
    assert np.abs(actual - expected).max() < 1e-4
    assert not encoder.trainable


def test_a_swapped_gate_order_would_be_caught(state):
    mels = np.random.default_rng(1).gamma(0.5, 2.0, (2, 20, 40)).astype(np.float32)
    swapped = dict(state)
    for layer in range(3):  # Keras' order with the cell and output gates exchanged: a plausible porting slip
        for name in (f"lstm.weight_ih_l{layer}", f"lstm.weight_hh_l{layer}", f"lstm.bias_ih_l{layer}", f"lstm.bias_hh_l{layer}"):
            i, f, g, o = np.split(state[name], 4, axis=0)
            swapped[name] = np.concatenate([i, f, o, g])
    assert np.abs(reference_embeddings(swapped, mels) - reference_embeddings(state, mels)).max() > 0.05


def test_one_bias_instead_of_pytorchs_two_would_be_caught(state, encoder):
    mels = np.random.default_rng(2).gamma(0.5, 2.0, (2, 20, 40)).astype(np.float32)
    one_bias = dict(state)
    for layer in range(3):  # Keras has one bias per layer: taking only bias_ih is a plausible porting slip
        one_bias[f"lstm.bias_hh_l{layer}"] = np.zeros_like(state[f"lstm.bias_hh_l{layer}"])
    assert np.abs(reference_embeddings(one_bias, mels) - np.asarray(encoder(mels, training=False))).max() > 0.05


def _fake_torch(monkeypatch):
    """Just enough of a ``torch`` module for pickle to write tensors the way torch.save does."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError(args)

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, FloatStorage.__module__ = "torch._utils", "torch"
    _rebuild_tensor_v2.__qualname__, FloatStorage.__qualname__ = "_rebuild_tensor_v2", "FloatStorage"
    utils._rebuild_tensor_v2, torch.FloatStorage, torch._utils = _rebuild_tensor_v2, FloatStorage, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return utils._rebuild_tensor_v2, torch.FloatStorage


def _write_legacy(path, tensors: dict[str, tuple], storages: dict[str, np.ndarray],
                  monkeypatch, little_endian=True, declared: dict[str, int] | None = None, listed=None):
    """A file in torch.save's legacy layout: tensors are (storage key, offset, size, stride).

    For damaged files: a tensor's optional fifth item is the storage size its reference
    declares; ``declared`` the size written before a storage's numbers; ``listed`` replaces the
    list of storage keys (all of them, in order, by default).
    """
    rebuild, storage_type = _fake_torch(monkeypatch)

    class Tensor:
        def __init__(self, key, offset, size, stride, count=None):
            self.args = (StorageRef(key, count), offset, size, stride, False, {})

        def __reduce__(self):
            return rebuild, self.args

    class StorageRef:
        def __init__(self, key, count):
            self.key, self.count = key, count

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, StorageRef):
                count = storages[obj.key].size if obj.count is None else obj.count
                return ("storage", storage_type, obj.key, "cpu", count)
            return None

    declared = declared or {}
    with open(path, "wb") as file:
        for header in (speaker_encoder._MAGIC, 1001, {"protocol_version": 1001, "little_endian": little_endian}):
            pickle.dump(header, file, protocol=2)
        Pickler(file, protocol=2).dump({"model_state": {name: Tensor(*t) for name, t in tensors.items()}, "step": 7})
        pickle.dump(list(storages) if listed is None else listed, file, protocol=2)
        for key, data in storages.items():
            file.write(np.int64(declared.get(key, data.size)).tobytes() + data.astype("<f4").tobytes())


def test_reader_rebuilds_offsets_and_strides(tmp_path, monkeypatch):
    data = np.arange(12, dtype=np.float32)
    path = tmp_path / "tiny.pt"
    _write_legacy(path, {"matrix": ("0", 0, (3, 4), (4, 1)), "transposed": ("0", 0, (4, 3), (1, 4)),
                         "tail": ("0", 8, (4,), (1,))}, {"0": data}, monkeypatch)
    loaded = speaker_encoder.read_torch_legacy(path)
    assert loaded["step"] == 7
    np.testing.assert_array_equal(loaded["model_state"]["matrix"], data.reshape(3, 4))
    np.testing.assert_array_equal(loaded["model_state"]["transposed"], data.reshape(3, 4).T)
    np.testing.assert_array_equal(loaded["model_state"]["tail"], data[8:])


def test_reader_refuses_what_is_not_a_plain_legacy_state_dict(tmp_path, monkeypatch):
    other = tmp_path / "other.pt"
    other.write_bytes(b"PK\x03\x04 a zip archive, as torch.save writes since PyTorch 1.6")
    with pytest.raises(ValueError, match="not a legacy PyTorch file"):
        speaker_encoder.read_torch_legacy(other)
    code = tmp_path / "code.pt"
    with open(code, "wb") as file:
        for header in (speaker_encoder._MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, file, protocol=2)
        pickle.dump(datetime.date(2020, 1, 1), file, protocol=2)  # any class outside the allowed few
    with pytest.raises(ValueError, match="names datetime.date"):
        speaker_encoder.read_torch_legacy(code)
    first = tmp_path / "first.pt"
    first.write_bytes(pickle.dumps(datetime.date(2020, 1, 1), protocol=2))  # code in the very first pickle
    with pytest.raises(ValueError, match="names datetime.date"):
        speaker_encoder.read_torch_legacy(first)
    outside = tmp_path / "outside.pt"
    _write_legacy(outside, {"x": ("0", 2, (3,), (1,))}, {"0": np.zeros(4, np.float32)}, monkeypatch)
    with pytest.raises(ValueError, match="does not fit in its storage of 4 numbers"):
        speaker_encoder.read_torch_legacy(outside)
    big = tmp_path / "big.pt"
    _write_legacy(big, {"x": ("0", 0, (2,), (1,))}, {"0": np.zeros(2, np.float32)}, monkeypatch, little_endian=False)
    with pytest.raises(ValueError, match="big-endian"):
        speaker_encoder.read_torch_legacy(big)


def test_weights_path_says_how_to_install_when_resemblyzer_is_missing(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "resemblyzer" else find_spec(name, *a))
    with pytest.raises(CourseError, match="requirements-nodeps.txt"):
        speaker_encoder.weights_path()


def test_mel_frames_match_librosa():
    """Reference: librosa 0.11.0 on the wave built below (``tests/librosa_reference.py`` says how)."""
    import librosa_reference as reference

    t = np.arange(14400) / 16000
    wav = (0.3 * np.sin(2 * np.pi * (200 * t + 900 * t**2))
           + 0.02 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    filters = speaker_encoder.mel_filters()
    np.testing.assert_allclose(filters.sum(axis=1), reference.FILTER_SUMS, rtol=1e-5)
    np.testing.assert_array_equal(filters.argmax(axis=1), reference.FILTER_PEAK_BINS)
    np.testing.assert_allclose(filters.max(axis=1), reference.FILTER_PEAKS, rtol=1e-5)
    mel = speaker_encoder.mel_frames(wav)
    assert mel.shape == reference.MEL_SHAPE
    scale = np.max(reference.MEL_FRAMES)
    np.testing.assert_allclose(mel[reference.FRAMES].ravel(), reference.MEL_FRAMES, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(mel.sum(axis=1), reference.FRAME_TOTALS, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(mel.sum(axis=0), reference.BAND_TOTALS, rtol=1e-5, atol=1e-6 * scale)


def _resemblyzer_function(module: str, name: str):
    """One function of the installed Resemblyzer, compiled from its source with its hparams."""
    root = pathlib.Path(importlib.util.find_spec("resemblyzer").submodule_search_locations[0])
    namespace: dict = {"np": np}
    exec((root / "hparams.py").read_text(), namespace)  # noqa: S102 - the wheel's own constants
    tree = ast.parse((root / module).read_text())
    constants = [node for node in tree.body if isinstance(node, ast.Assign)]  # e.g. int16_max
    exec(compile(ast.Module(constants, []), module, "exec"), namespace)  # noqa: S102
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            node.decorator_list = []
            exec(compile(ast.Module([node], []), module, "exec"), namespace)  # noqa: S102
            return namespace[name]
    raise LookupError(name)


@pytest.mark.parametrize("samples", [1, 4000, 12_800, 13_000, 25_600, 26_000, 40_000, 90_000])
def test_partial_windows_follow_resemblyzer(samples):
    slices = _resemblyzer_function("voice_encoder.py", "compute_partial_slices")
    _, expected = slices(samples, rate=1.3, min_coverage=0.75)
    assert speaker_encoder.partial_windows(samples) == expected


@pytest.mark.parametrize("scale", [0.001, 0.01, 0.5])
def test_volume_rule_follows_resemblyzer(scale):
    normalize = _resemblyzer_function("audio.py", "normalize_volume")
    wav = scale * np.sin(np.linspace(0, 200, 8000))
    np.testing.assert_allclose(speaker_encoder.normalise_volume(wav), normalize(wav, -30, increase_only=True))


def test_embeddings_tell_two_real_speakers_apart(encoder):
    """On real recordings (tfds spoken_digit): a speaker's clips are closer to each other than to another's."""
    import tensorflow_datasets as tfds
    from scipy import signal

    from helpers import data

    clips = {}
    dataset = data.prepared_builder("spoken_digit").as_dataset(split="train")
    for example in tfds.as_numpy(dataset):
        speaker = example["audio/filename"].decode().split("_")[1]
        if speaker in ("jackson", "theo") and len(clips.setdefault(speaker, [])) < 6:
            clips[speaker].append(signal.resample_poly(example["audio"] / 32768, 2, 1))
        if sum(len(c) for c in clips.values()) == 12:
            break
    embeddings = {s: speaker_encoder.embed_utterances(encoder, c) for s, c in clips.items()}
    a, b = embeddings["jackson"], embeddings["theo"]
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    same = np.mean([(a @ a.T)[np.triu_indices(6, 1)].mean(), (b @ b.T)[np.triu_indices(6, 1)].mean()])
    assert same > (a @ b.T).mean() + 0.05


def test_front_end_refuses_empty_input():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        speaker_encoder.mel_frames(np.zeros(0))
    with pytest.raises(ValueError, match="at least one sample"):
        speaker_encoder.partial_windows(0)
    with pytest.raises(ValueError, match="at least one recording"):
        speaker_encoder.embed_utterances(None, [])


def test_streamed_batches_give_the_same_embeddings_as_one_batch(encoder):
    rng = np.random.default_rng(3)
    wavs = [0.1 * rng.standard_normal(n) for n in (3000, 30_000, 8000, 45_000, 1000)]  # 1, 1, 1, 3, 1 windows
    in_one = speaker_encoder.embed_utterances(encoder, wavs, batch_size=16)
    streamed = speaker_encoder.embed_utterances(encoder, iter(wavs), batch_size=3)  # batches split recordings
    assert in_one.shape == (5, 256) and np.abs(in_one - streamed).max() < 1e-5


def test_reader_checks_a_storage_size_against_the_file_before_reading_it(tmp_path, monkeypatch):
    """A forged size of 2**40 numbers (4 TiB) must be refused from the file's length, not by trying to read it."""
    path = tmp_path / "huge.pt"
    _write_legacy(path, {"x": ("0", 0, (4,), (1,), 2**40)}, {"0": np.zeros(4, np.float32)}, monkeypatch,
                  declared={"0": 2**40})
    size, reads = path.stat().st_size, []

    class Spy:  # the file, but no read may ask for more than the whole file
        def __init__(self, file):
            self.file = file

        def read(self, n=-1):
            reads.append(n)
            if n > size:
                raise AssertionError(f"asked to read {n} bytes of a {size}-byte file")
            return self.file.read(n)

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(speaker_encoder, "open", lambda *a, **k: Spy(open(*a, **k)), raising=False)
    with pytest.raises(ValueError, match="says it holds 1099511627776 numbers.* 4 are left in the file"):
        speaker_encoder.read_torch_legacy(path)
    assert reads and max(reads) <= size


def test_reader_refuses_one_storage_described_two_ways(tmp_path, monkeypatch):
    data = {"0": np.arange(6, dtype=np.float32)}
    shared = tmp_path / "shared.pt"  # two tensors on one storage, described alike: fine
    _write_legacy(shared, {"a": ("0", 0, (2,), (1,)), "b": ("0", 2, (4,), (1,))}, data, monkeypatch)
    np.testing.assert_array_equal(speaker_encoder.read_torch_legacy(shared)["model_state"]["b"], data["0"][2:])
    conflicting = tmp_path / "conflicting.pt"  # the first says 6 numbers, the second 2: which one is true?
    _write_legacy(conflicting, {"a": ("0", 0, (6,), (1,)), "b": ("0", 0, (2,), (1,), 2)}, data, monkeypatch)
    with pytest.raises(ValueError, match="storage '0' is described twice, as 6 numbers of FloatStorage and as 2"):
        speaker_encoder.read_torch_legacy(conflicting)
    twice = tmp_path / "twice.pt"
    _write_legacy(twice, {"a": ("0", 0, (6,), (1,))}, data, monkeypatch, listed=["0", "0"])
    with pytest.raises(ValueError, match="storage '0' is listed twice"):
        speaker_encoder.read_torch_legacy(twice)


def test_every_truncation_and_a_malformed_key_list_raise_the_documented_value_error(tmp_path, monkeypatch):
    whole = tmp_path / "whole.pt"
    _write_legacy(whole, {"x": ("0", 0, (3,), (1,))}, {"0": np.arange(3, dtype=np.float32)}, monkeypatch)
    content = whole.read_bytes()
    cut = tmp_path / "cut.pt"
    escaped = {}
    for length in range(len(content)):  # the file cut short after every byte: headers, pickles, storages
        cut.write_bytes(content[:length])
        try:
            speaker_encoder.read_torch_legacy(cut)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - collected, to name them all in the failure
            escaped.setdefault(type(error).__name__, length)
        else:
            escaped.setdefault("no error", length)
    assert not escaped, f"not the documented ValueError (first length at which each appeared): {escaped}"
    cut.write_bytes(content[:-5])
    with pytest.raises(ValueError, match="truncated"):
        speaker_encoder.read_torch_legacy(cut)
    not_a_list = tmp_path / "not_a_list.pt"
    _write_legacy(not_a_list, {"x": ("0", 0, (3,), (1,))}, {"0": np.zeros(3, np.float32)}, monkeypatch, listed=5)
    with pytest.raises(ValueError, match="not a readable legacy PyTorch file .*TypeError"):
        speaker_encoder.read_torch_legacy(not_a_list)
