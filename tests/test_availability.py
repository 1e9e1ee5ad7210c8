from helpers import availability, data


def test_nothing_missing_for_what_is_here():
    assert availability.missing(packages=["numpy", "keras"], datasets=["tf_flowers"]) is None


def test_missing_package_says_how_to_install_it():
    message = availability.missing(packages=["numpy", "no_such_package_xyz"])
    assert message == "no_such_package_xyz not installed (pip install no-such-package-xyz)"


def test_unknown_dataset_and_unreachable_host_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # an empty data folder: nothing is prepared
    monkeypatch.setattr(availability, "network_available", lambda host="storage.googleapis.com": False)
    message = availability.missing(datasets=["no_such_dataset_xyz", "imdb_reviews"], hosts=["www.kaggle.com"])
    assert "no tfds dataset called 'no_such_dataset_xyz'" in message
    assert "dataset 'imdb_reviews' is not on disk and cannot be downloaded (offline)" in message
    assert message.endswith("www.kaggle.com cannot be reached (offline)")


