import numpy as np

from helpers import exercises


def test_verdict_displays_its_message_and_is_truthy_only_when_correct():
    assert bool(exercises.report(True, "h")) and repr(exercises.report(True, "h")) == "Correct!"
    wrong = exercises.report(False, "look again")
    assert not wrong and repr(wrong) == "Not yet. Hint: look again"
    untried = exercises.report(None, "h")
    assert not untried and "Not attempted yet" in repr(untried)


def test_class_count_check(flowers):
    truth = flowers.class_counts("validation")["roses"]
    assert exercises.check_class_count(truth, flowers, "validation", "roses")
    assert not exercises.check_class_count(truth + 1, flowers, "validation", "roses")
    assert "Not attempted" in repr(exercises.check_class_count(None, flowers, "validation", "roses"))


def test_names_in_imagenet_check():
    ours, imagenet = ["daisy", "roses"], ["daisy", "bee"]
    assert exercises.check_names_in_imagenet({"daisy"}, ours, imagenet)
    assert exercises.check_names_in_imagenet(["daisy"], ours, imagenet)
    assert not exercises.check_names_in_imagenet({"daisy", "roses"}, ours, imagenet)


def test_check_close_compares_values_and_shapes():
    assert exercises.check_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9], "h")
    assert not exercises.check_close(np.array([1.0, 2.1]), [1.0, 2.0], "h")
    shape = exercises.check_close(np.ones(3), np.ones(2), "h")
    assert not shape and "expected shape (2,)" in repr(shape)
