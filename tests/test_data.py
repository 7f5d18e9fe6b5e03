import dataclasses
import gzip
import shutil
import types

import numpy as np
import pytest

from rnnbook import config, data


@pytest.fixture(scope="module")
def official(mnist_folder, tmp_path_factory):
    """The official arrays, read once, and the uncompressed IDX bytes of each file."""
    raw = {
        key: gzip.decompress((mnist_folder / f"{spec.name}.gz").read_bytes())
        for key, spec in data.IDX_FILES.items()
    }
    arrays = {
        key: (
            np.frombuffer(raw[key], np.uint8, offset=spec.header_size).reshape(
                spec.shape
            )
        )
        for key, spec in data.IDX_FILES.items()
    }
    return raw, arrays


def copy_of(mnist_folder, folder, skip=()):
    """Copy the four .gz files into `folder`, leaving out the keys in `skip`."""
    folder.mkdir(exist_ok=True)
    for key, spec in data.IDX_FILES.items():
        if key not in skip:
            shutil.copy(mnist_folder / f"{spec.name}.gz", folder / f"{spec.name}.gz")
    return folder


def load_from(folder, monkeypatch):
    monkeypatch.setenv(data.MNIST_VARIABLE, str(folder))
    return data.load_mnist()


def assert_official(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for key, array in zip(
        ("x_train", "y_train", "x_test", "y_test"), (x_train, y_train, x_test, y_test)
    ):
        assert array.dtype == np.uint8
        assert array.shape == data.IDX_FILES[key].shape
        np.testing.assert_array_equal(array, arrays[key])


def test_reads_the_gzipped_originals(mnist_folder, official, monkeypatch):
    loaded = load_from(mnist_folder, monkeypatch)
    assert_official(loaded, official[1])
    assert loaded[0][0].flags.writeable


def test_reads_uncompressed_files(official, tmp_path, monkeypatch):
    raw, arrays = official
    for key, spec in data.IDX_FILES.items():
        (tmp_path / spec.name).write_bytes(raw[key])
    assert_official(load_from(tmp_path, monkeypatch), arrays)


def test_reads_a_keras_layout_npz(official, tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", **official[1])
    assert_official(load_from(tmp_path, monkeypatch), official[1])


def test_missing_file_is_named(mnist_folder, tmp_path, monkeypatch):
    copy_of(mnist_folder, tmp_path, skip=("y_test",))
    with pytest.raises(data.MNISTError, match="but not t10k-labels-idx1-ubyte"):
        load_from(tmp_path, monkeypatch)


def test_truncated_gzip_file(mnist_folder, tmp_path, monkeypatch):
    copy_of(mnist_folder, tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(
        data.MNISTError, match="train-labels-idx1-ubyte.gz is not a complete gzip file"
    ):
        load_from(tmp_path, monkeypatch)


def test_truncated_uncompressed_file(mnist_folder, official, tmp_path, monkeypatch):
    copy_of(mnist_folder, tmp_path, skip=("y_test",))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(official[0]["y_test"][:-10])
    with pytest.raises(
        data.MNISTError,
        match=r"holds 9998 bytes uncompressed, expected 10008: it is truncated",
    ):
        load_from(tmp_path, monkeypatch)


def test_corrupted_content_fails_the_checksum(
    mnist_folder, official, tmp_path, monkeypatch
):
    copy_of(mnist_folder, tmp_path, skip=("y_train",))
    corrupted = bytearray(official[0]["y_train"])
    corrupted[100] = (
        corrupted[100] + 1
    ) % 10  # still a valid label, but not the official one
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(bytes(corrupted))
    )
    with pytest.raises(
        data.MNISTError, match="train-labels-idx1-ubyte.gz is corrupted: the SHA-256"
    ):
        load_from(tmp_path, monkeypatch)


def test_wrong_magic_number(mnist_folder, official, tmp_path, monkeypatch):
    copy_of(mnist_folder, tmp_path, skip=("y_test",))
    # A labels file whose header says "images": e.g. files renamed or mixed up.
    wrong = (0x00000803).to_bytes(4, "big") + official[0]["y_test"][4:]
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(wrong))
    with pytest.raises(
        data.MNISTError, match=r"magic number 0x00000803, expected 0x00000801"
    ):
        load_from(tmp_path, monkeypatch)


def test_folder_holding_something_else(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("not MNIST")
    with pytest.raises(
        data.MNISTError, match=r"holds no MNIST files \(it holds: notes.txt\)"
    ):
        load_from(tmp_path, monkeypatch)


def test_folder_that_does_not_exist(tmp_path, monkeypatch):
    with pytest.raises(
        data.MNISTError, match="does not exist. Set RNNBOOK_MNIST to a folder"
    ):
        load_from(tmp_path / "nowhere", monkeypatch)


def test_variable_naming_a_file(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes(b"")
    with pytest.raises(data.MNISTError, match="is a file, not a folder"):
        load_from(tmp_path / "mnist.npz", monkeypatch)


def test_corrupted_npz(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(data.MNISTError, match="mnist.npz is not a readable .npz file"):
        load_from(tmp_path, monkeypatch)


def test_npz_missing_an_array(official, tmp_path, monkeypatch):
    arrays = dict(official[1])
    del arrays["y_test"]
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(data.MNISTError, match="lacks the arrays y_test"):
        load_from(tmp_path, monkeypatch)


def test_npz_with_wrong_shape_or_dtype(official, tmp_path, monkeypatch):
    arrays = dict(official[1], x_test=official[1]["x_test"].astype(np.float32))
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(
        data.MNISTError, match="x_test has shape .* and dtype float32, expected"
    ):
        load_from(tmp_path, monkeypatch)


def test_npz_with_other_labels(official, tmp_path, monkeypatch):
    arrays = dict(official[1], y_train=np.sort(official[1]["y_train"])[::-1].copy())
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(
        data.MNISTError,
        match="y_train has the right shape but not the official content",
    ):
        load_from(tmp_path, monkeypatch)


def test_npz_of_random_pixels_with_the_official_label_counts(
    official, tmp_path, monkeypatch
):
    # Shapes, dtypes and label histograms are right; only the content is not MNIST's.
    rng = np.random.default_rng(0)
    arrays = {
        key: rng.permutation(array.ravel()).reshape(array.shape)
        for key, array in official[1].items()
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(
        data.MNISTError,
        match="x_train has the right shape but not the official content",
    ):
        load_from(tmp_path, monkeypatch)


def test_npz_with_one_pixel_changed(official, tmp_path, monkeypatch):
    x_test = official[1]["x_test"].copy()
    x_test[-1, 14, 14] ^= 1
    np.savez(tmp_path / "mnist.npz", **dict(official[1], x_test=x_test))
    with pytest.raises(
        data.MNISTError, match="x_test has the right shape but not the official content"
    ):
        load_from(tmp_path, monkeypatch)


def test_corrupt_keras_cache_is_reported_as_corrupt(tmp_path, monkeypatch):
    import keras

    def offline():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None --"
            " [Errno -3]"
        )

    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"PK\x03\x04 half a download")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(data.MNIST_VARIABLE, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(
        data.MNISTError,
        match=r"datasets/mnist.npz is corrupt .* Delete .* to download it again",
    ):
        data.load_mnist()


def test_no_variable_and_no_network(tmp_path, monkeypatch):
    import keras

    def offline():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None --"
            " [Errno -3]"
        )

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty cache
    monkeypatch.delenv(data.MNIST_VARIABLE, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(
        data.MNISTError,
        match="RNNBOOK_MNIST is not set, and Keras could not download MNIST",
    ):
        data.load_mnist()


def test_as_sequences_scales_rows_to_unit_interval():
    images = np.array([[[0] * 28] * 27 + [[255] * 28]], dtype=np.uint8)
    sequences = data.as_sequences(images)
    assert sequences.dtype == np.float32 and sequences.shape == (1, 28, 28)
    assert sequences[0, 0, 0] == 0.0 and sequences[0, 27, 0] == 1.0


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 784), np.uint8), "reshape with"),
        (np.zeros((2, 28, 28), np.float32), "Expected uint8 pixels"),
    ],
)
def test_as_sequences_rejects_bad_input(images, message):
    with pytest.raises(ValueError, match=message):
        data.as_sequences(images)


@pytest.mark.parametrize("name", sorted(config.PROFILES))
def test_load_sequences_splits_like_the_original_programs(
    name, official, mnist_folder, monkeypatch
):
    monkeypatch.setenv(data.MNIST_VARIABLE, str(mnist_folder))
    profile = config.get_profile(name)
    splits = data.load_sequences(profile)
    arrays = official[1]
    sizes = profile.data
    assert splits.x_train.shape == (sizes.num_train, 28, 28)
    assert splits.x_validation.shape == (sizes.num_validation, 28, 28)
    assert splits.x_test.shape == (sizes.num_test, 28, 28)
    # Validation is the start of the training file, training starts after the 5,000 held
    # out.
    np.testing.assert_array_equal(
        splits.x_validation[0], arrays["x_train"][0] / np.float32(255)
    )
    np.testing.assert_array_equal(
        splits.x_train[0], arrays["x_train"][5_000] / np.float32(255)
    )
    np.testing.assert_array_equal(
        splits.y_train, arrays["y_train"][5_000 : 5_000 + sizes.num_train]
    )
    np.testing.assert_array_equal(splits.y_test, arrays["y_test"][: sizes.num_test])


def test_load_sequences_takes_a_profile_name(mnist_folder, monkeypatch):
    monkeypatch.setenv(data.MNIST_VARIABLE, str(mnist_folder))
    splits = data.load_sequences("smoke")
    assert len(splits.x_train) == config.get_profile("smoke").data.num_train


@pytest.mark.parametrize(
    "name, value, message",
    [
        (
            "num_validation",
            5_001,
            "num_validation=5001 must be a whole number of images from 1 to 5,000",
        ),
        ("num_train", 55_001, "num_train=55001 must be .* from 1 to 55,000"),
        ("num_test", 0, "num_test=0 must be .* from 1 to 10,000"),
        ("num_train", 2.5, "num_train=2.5 must be a whole number"),
    ],
)
def test_profile_sizes_beyond_mnist_are_errors(name, value, message, monkeypatch):
    smoke = config.get_profile("smoke")
    sizes = types.SimpleNamespace(**{**vars(smoke.data), name: value})
    with pytest.raises(ValueError, match=message):
        data.load_sequences(dataclasses.replace(smoke, data=sizes))


@pytest.mark.parametrize("name", sorted(config.PROFILES))
def test_every_profile_fits_mnist(name):
    data.check_sizes(config.get_profile(name).data, name)
