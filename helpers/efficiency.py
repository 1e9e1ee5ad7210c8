"""Data-efficiency experiments: test accuracy against labelled examples per class.

Chapters 08 (flowers) and 10 (blood cells) draw the same curve for three methods, so the
two domains can be compared point by point. The training code of each method stays in
the notebook; this module holds the plumbing around it:

- :class:`PerClassSampler` draws ``n`` training examples of every class, nested (the 5 of
  a seed are among its 20), so that a curve shows the effect of *more* data, not of
  different data;
- :func:`restart` puts a compiled model back to its initial state (weights *and* optimizer),
  so one model serves every run without rebuilding its training graph;
- :func:`fit_steps` trains for a fixed number of steps: the same budget at every size;
- :func:`measure_curve` runs every method on every draw and collects the accuracies;
- :func:`scratch_by_input_size` gives the scratch baseline a fairer chance: the same CNN at
  several input sizes, more steps, the size chosen on validation.
"""

from __future__ import annotations

import copy

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from helpers import config, models
from helpers import progress as progress_report
from helpers.errors import check_positive_int

Curve = dict[str, dict[int, list[float]]]
"""``curve[method][per_class]`` is the list of test accuracies, one per seed."""


class PerClassSampler:
    """Draw ``per_class`` random examples of every class from a labelled training split.

    Each seed fixes one random order of every class; ``draw(n, seed)`` takes the first
    ``n`` of each, so draws of one seed are nested.

    Args:
        labels: Integer class of every training example.
        seeds: Number of independent random orders to prepare (seeds ``0 .. seeds-1``).
    """

    def __init__(self, labels: np.ndarray, seeds: int) -> None:
        self.labels = np.asarray(labels)
        self.seeds = check_positive_int("seeds", seeds)
        self.rows: np.ndarray | None = None  # set by within(): draws are then positions among these
        self.classes = np.unique(self.labels)
        self._orders = {
            seed: [np.random.default_rng(seed).permutation(np.flatnonzero(self.labels == k)) for k in self.classes]
            for seed in range(self.seeds)
        }

    @property
    def smallest_class(self) -> int:
        """Examples in the rarest class: the largest ``per_class`` that can be drawn."""
        return min(len(order) for order in self._orders[0])

    def draw(self, per_class: int, seed: int = 0) -> np.ndarray:
        """Return the sorted indices of ``per_class`` examples of every class.

        Raises:
            ValueError: If a class has fewer examples, or ``seed`` was not prepared.
        """
        check_positive_int("per_class", per_class)
        if seed not in self._orders:
            raise ValueError(f"seed {seed} was not prepared: use 0 to {self.seeds - 1}, or a sampler with more seeds.")
        if per_class > self.smallest_class:
            raise ValueError(
                f"{per_class} examples per class requested, but the rarest class has only "
                f"{self.smallest_class}: use per_class <= {self.smallest_class}."
            )
        indices = np.sort(np.concatenate([order[:per_class] for order in self._orders[seed]]))
        if self.rows is None:
            return indices
        positions = np.searchsorted(self.rows, indices)
        if np.any(positions >= len(self.rows)) or not np.array_equal(self.rows[positions], indices):
            raise ValueError(f"draw({per_class}, {seed}) takes examples that are not among the rows kept: pass "
                             "within() every example the draws use (the union of every draw).")
        return positions

    def within(self, rows: np.ndarray) -> PerClassSampler:
        """The same draws, as positions among ``rows`` instead of indices into the whole split.

        For arrays that keep only the training examples some draw uses (``rows``, e.g. the union
        of every draw): ``within(rows).draw(n, seed)`` indexes them exactly as ``draw(n, seed)``
        indexes the whole split, so memory follows the draws, not the size of the dataset.

        Raises:
            ValueError: If ``rows`` are not distinct indices into the split, in increasing order.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1 or np.any(np.diff(rows) <= 0) or (len(rows) and (rows[0] < 0 or rows[-1] >= len(self.labels))):
            raise ValueError(f"rows must be distinct indices into the {len(self.labels)} examples, in increasing "
                             "order (np.unique gives them so).")
        restricted = copy.copy(self)
        restricted.rows = rows
        return restricted


def runs_for(sizes: Sequence[int], seeds: int, repeated: int = 2) -> list[tuple[int, int]]:
    """Return the ``(per_class, seed)`` runs: ``seeds`` draws at the ``repeated`` smallest sizes, one elsewhere.

    Small samples vary most from draw to draw, so that is where repeats are worth their cost.
    """
    small = sorted(sizes)[:repeated]
    return [(n, seed) for n in sizes for seed in range(seeds if n in small else 1)]


def restart(model: keras.Model, weights: list[np.ndarray]) -> keras.Model:
    """Set ``model``'s weights and reset its optimizer (step count, moments); return it.

    The learning rate is an optimizer variable too; it is kept. Reusing one compiled
    model this way is much faster than building and compiling a new one for every run.
    """
    model.set_weights(weights)
    if model.optimizer is not None:
        for variable in model.optimizer.variables:
            if not variable.path.endswith("learning_rate"):
                variable.assign(tf.zeros_like(variable))
    return model


def fit_steps(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    steps: int,
    seed: int,
    batch_size: int = 16,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> keras.Model:
    """Train ``model`` for exactly ``steps`` shuffled batches drawn from ``(x, y)``; return it.

    A fixed number of steps gives every sample size the same training budget (with
    epochs, 5 photos per class would get 16 times fewer updates than 80). ``callbacks`` go
    to ``fit`` (e.g. :func:`helpers.progress.fit_callback`).

    Raises:
        ValueError: If ``steps`` is not a positive multiple of the model's ``steps_per_execution``
            (Keras would round it up to the next multiple).
    """
    check_positive_int("steps", steps)
    per_call = int(getattr(model, "steps_per_execution", 1) or 1)
    if steps % per_call:
        raise ValueError(f"steps ({steps}) must be a multiple of the model's steps_per_execution ({per_call}): Keras "
                         f"runs whole groups of {per_call} steps, so it would train {-(-steps // per_call) * per_call}. "
                         f"Give a multiple of {per_call} (e.g. TLHO_STEPS={-(-steps // per_call) * per_call}), or "
                         "compile with steps_per_execution=1.")
    batches = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=seed).repeat().batch(batch_size)
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,  # the dataset shuffles
              callbacks=list(callbacks))
    return model


def measure_curve(
    methods: Mapping[str, Callable[[np.ndarray, int], float]],
    sampler: PerClassSampler,
    runs: Sequence[tuple[int, int]],
    *,
    progress: bool = True,
) -> Curve:
    """Run every method on every ``(per_class, seed)`` draw; return ``curve[method][per_class]``.

    Args:
        methods: Name -> function of ``(training indices, seed)`` returning a test accuracy.
        sampler: Where the training indices come from.
        runs: The draws, e.g. from :func:`runs_for`.
        progress: Show a bar counting the runs (methods × draws) when they take more than a
            few seconds (:mod:`helpers.progress`); it changes no result.
    """
    curve: Curve = {name: {} for name in methods}
    with progress_report.bar(description="data-efficiency runs", total=len(runs) * len(methods), unit="run",
                             enabled=progress) as done:
        for per_class, seed in runs:
            indices = sampler.draw(per_class, seed)
            for name, method in methods.items():
                done.set_postfix_str(f"{name}, {per_class} per class, draw {seed}", refresh=False)
                curve[name].setdefault(per_class, []).append(float(method(indices, seed)))
                done.update(1)
    return curve


Method = Callable[[np.ndarray, int], float]

Predictions = dict[str, dict[tuple[int, int], np.ndarray]]
"""``predictions[method][(per_class, seed)]`` is the predicted class of every test example."""


def three_methods(
    scratch: keras.Model,
    head: keras.Model,
    fine_tuner: keras.Model,
    inputs: Mapping[str, Mapping[str, np.ndarray]],
    labels: Mapping[str, np.ndarray],
    steps: int,
    fine_tune_steps: int,
    predictions: Predictions | None = None,
) -> dict[str, Method]:
    """The three runs of a data-efficiency curve, for :func:`measure_curve`: the same budget for each.

    Each function restarts its compiled model from the state it has now, trains it for
    ``steps`` steps in all on the given training indices (:func:`fit_steps`) and returns
    its accuracy on ``"test"``:

    - ``"scratch"``: ``scratch`` on ``inputs["scratch"]`` (small images);
    - ``"feature extraction"``: ``head`` on ``inputs["head"]`` (pooled features): ``steps -
      fine_tune_steps`` steps, then ``fine_tune_steps`` more on the same batches that
      fine-tuning trains on;
    - ``"fine-tuning"``: ``fine_tuner`` (the top of a backbone followed by a ``Dense`` like
      ``head``'s) on ``inputs["fine_tuner"]`` (outputs below the top), starting from the
      head as ``"feature extraction"`` had it after ``steps - fine_tune_steps`` steps on the
      same indices (so call them in this order, as :func:`measure_curve` does), for the last
      ``fine_tune_steps`` steps.

    So a difference between the two transfer methods is not extra training. In the last
    ``fine_tune_steps`` steps they differ in whether the top of the backbone may move, and in
    the optimizer each compiled model brings: ``head`` goes on with its own (Adam state kept),
    ``fine_tuner`` starts its own afresh (the notebooks give it a lower learning rate).

    Args:
        scratch, head, fine_tuner: Compiled models, in their initial state.
        inputs: ``inputs[model][split]`` arrays for ``"train"`` and ``"test"``.
        labels: ``labels[split]`` integer classes.
        steps: Training steps of every run, whatever the method.
        fine_tune_steps: How many of them fine-tuning trains with the top unfrozen.
        predictions: If given, every run stores its predicted test classes in it, under
            ``predictions[method][(per_class, seed)]`` (for paired tests such as
            :func:`helpers.significance.compare`).

    Raises:
        ValueError: Missing inputs, or ``fine_tune_steps`` not below ``steps``.
    """
    for name in ("scratch", "head", "fine_tuner"):
        if name not in inputs or not {"train", "test"} <= set(inputs[name]):
            raise ValueError(f"inputs[{name!r}] needs 'train' and 'test' arrays.")
    check_positive_int("steps", steps)
    check_positive_int("fine_tune_steps", fine_tune_steps)
    if fine_tune_steps >= steps:
        raise ValueError(f"fine_tune_steps ({fine_tune_steps}) must be below steps ({steps}): fine-tuning starts "
                         "from a head trained for the first steps - fine_tune_steps steps.")
    initial = {"scratch": scratch.get_weights(), "head": head.get_weights(), "top": fine_tuner.get_weights()[:-2]}
    classes = len(np.unique(labels["train"]))
    trained_head: list[np.ndarray] = []  # the head where fine-tuning starts

    def score(name: str, model: keras.Model, key: str, indices: np.ndarray, seed: int) -> float:
        predicted = np.argmax(model.predict(inputs[key]["test"], verbose=0), axis=-1)
        if predictions is not None:
            predictions.setdefault(name, {})[(len(indices) // classes, seed)] = predicted
        return float(np.mean(predicted == labels["test"]))

    def train(model: keras.Model, key: str, indices: np.ndarray, seed: int, n: int) -> None:
        fit_steps(model, inputs[key]["train"][indices], labels["train"][indices], n, seed)

    def from_scratch(indices: np.ndarray, seed: int) -> float:
        restart(scratch, initial["scratch"])
        train(scratch, "scratch", indices, seed, steps)
        return score("scratch", scratch, "scratch", indices, seed)

    def feature_extraction(indices: np.ndarray, seed: int) -> float:
        restart(head, initial["head"])
        train(head, "head", indices, seed, steps - fine_tune_steps)
        trained_head[:] = head.layers[-1].get_weights()
        train(head, "head", indices, seed, fine_tune_steps)  # the batches fine-tuning trains on
        return score("feature extraction", head, "head", indices, seed)

    def fine_tuning(indices: np.ndarray, seed: int) -> float:
        if not trained_head:
            raise RuntimeError("Run 'feature extraction' before 'fine-tuning': fine-tuning starts from its head.")
        restart(fine_tuner, initial["top"] + trained_head)
        train(fine_tuner, "fine_tuner", indices, seed, fine_tune_steps)
        return score("fine-tuning", fine_tuner, "fine_tuner", indices, seed)

    return {"scratch": from_scratch, "feature extraction": feature_extraction, "fine-tuning": fine_tuning}


@dataclass(frozen=True)
class ScratchSearch:
    """What :func:`scratch_by_input_size` measured, per input side in pixels."""

    validation: dict[int, float]
    """Validation accuracy of the CNN trained at each side."""
    predicted: dict[int, np.ndarray]
    """Predicted test classes of the CNN trained at each side."""

    @property
    def chosen(self) -> int:
        """The side with the best validation accuracy (the smallest one on a tie)."""
        return max(sorted(self.validation), key=lambda side: self.validation[side])


def scratch_by_input_size(
    images: Mapping[int, Mapping[str, np.ndarray]],
    labels: Mapping[str, np.ndarray],
    indices: np.ndarray,
    steps: int,
    seed: int = config.SEED,
    *,
    progress: bool = True,
) -> ScratchSearch:
    """Train :func:`helpers.models.small_cnn` afresh at each input size; choose the size on validation.

    The scratch baseline's fairer chance (chapters 08 and 10): larger inputs than the curve's
    and as many steps as given, each size from fresh weights with the same seed and batches.

    Args:
        images: ``images[side][split]`` pixels (0-255) at ``side`` pixels, for ``"train"``,
            ``"validation"`` and ``"test"``.
        labels: ``labels[split]`` integer classes.
        indices: The training rows to use.
        steps: Training steps at every size.
        seed: Seed of the weights and of the batches.
        progress: Show a bar counting the training steps of all sizes when they take more
            than a few seconds (:mod:`helpers.progress`); it changes no result.

    Raises:
        ValueError: No sizes, a size whose images are not square at that side, or a missing split.
    """
    if not images:
        raise ValueError("Give at least one input size: images[side][split].")
    check_positive_int("steps", steps)
    num_classes = int(max(labels["train"].max(), labels["validation"].max(), labels["test"].max())) + 1
    for side, by_split in images.items():
        missing = {"train", "validation", "test"} - set(by_split)
        if missing:
            raise ValueError(f"images[{side}] lacks the split(s) {sorted(missing)}.")
        if by_split["train"].shape[1:3] != (side, side):
            raise ValueError(f"images[{side}] holds images of {by_split['train'].shape[1:3]} pixels, not {side}x{side}.")
    validation, predicted = {}, {}
    with progress_report.bar(description="scratch CNN at each input size", total=steps * len(images), unit="step",
                             enabled=progress) as done:
        for side, by_split in images.items():
            done.set_postfix_str(f"{side} pixels", refresh=False)
            keras.utils.set_random_seed(seed)
            model = models.compile_classifier(models.small_cnn(side, num_classes))
            fit_steps(model, by_split["train"][indices], labels["train"][indices], steps, seed=seed,
                      callbacks=[progress_report.fit_callback(done)])
            validation[side] = float(model.evaluate(by_split["validation"], labels["validation"], verbose=0)[1])
            predicted[side] = model.predict(by_split["test"], verbose=0).argmax(axis=1)
    return ScratchSearch(validation, predicted)


def mean_curve(curve: Curve) -> dict[str, dict[int, float]]:
    """Average the seeds: ``{method: {per_class: mean accuracy}}``."""
    return {name: {n: float(np.mean(scores)) for n, scores in by_size.items()} for name, by_size in curve.items()}


def spread_curve(curve: Curve) -> dict[str, dict[int, float]]:
    """Sample standard deviation over the seeds (``ddof=1``; 0 where a size has one draw): ``{method: {per_class: sd}}``."""
    return {name: {n: float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0 for n, scores in by_size.items()}
            for name, by_size in curve.items()}


def early_stopping_epochs(validation: Sequence[float], patience: int, mode: str = "min") -> tuple[int, int]:
    """Replay ``keras.callbacks.EarlyStopping(patience=..., restore_best_weights=True)`` on a history.

    Early stopping stops once ``patience`` epochs in a row brought no improvement of the
    monitored value, and keeps the weights of the best epoch so far. Replaying it on the
    history of a full run tells what it would have done, without training again.

    Args:
        validation: The monitored value after each epoch, e.g. ``history.history["val_loss"]``.
        patience: Epochs without improvement before stopping.
        mode: ``"min"`` for a loss, ``"max"`` for an accuracy (as in Keras).

    Returns:
        ``(last epoch trained, epoch whose weights are kept)``, both 0-based.
    """
    check_positive_int("patience", patience)
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' (a loss) or 'max' (an accuracy), got {mode!r}.")
    sign = 1.0 if mode == "max" else -1.0
    if not len(validation):
        raise ValueError("The history is empty: train for at least one epoch.")
    best, wait = 0, 0
    for epoch in range(1, len(validation)):
        if sign * validation[epoch] > sign * validation[best]:
            best, wait = epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best
    return len(validation) - 1, best
