"""MNIST: find it, verify it, load it, and view each image as a sequence of rows.

`load_mnist` returns exactly what ``keras.datasets.mnist.load_data()`` returns.
Where the environment variable ``RNNBOOK_MNIST`` names a folder, it reads the
four original IDX files (or a Keras-layout ``mnist.npz``) from there and never
touches the network; otherwise Keras downloads the data once and caches it.
Whatever it reads, it checks against the official files before trusting it:
the SHA-256 of each array's content, laid out as its IDX file (header and
pixels), must be the published checksum of that file, whichever path it came by.

`load_sequences` gives the book's view (chapter 1, "MNIST as sequences"):
float32 pixels in [0, 1], shaped (samples, time steps, features) = (n, 28, 28),
split as the original TF1 programs split it.
"""

import dataclasses
import gzip
import hashlib
import numbers
import os
import pathlib
import zipfile
import zlib

import numpy as np

from rnnbook import config

__all__ = [
    "MNIST_VARIABLE",
    "NPZ_NAME",
    "KERAS_CACHE",
    "KERAS_NPZ_SHA256",
    "IMAGE_SIZE",
    "NUM_CLASSES",
    "NUM_HELD_OUT",
    "IDX_FILES",
    "MNISTError",
    "IdxFile",
    "Splits",
    "load_mnist",
    "as_sequences",
    "load_sequences",
    "check_sizes",
]

MNIST_VARIABLE = "RNNBOOK_MNIST"
NPZ_NAME = "mnist.npz"
# Keras's own download, ``keras.datasets.mnist.load_data()``: where it is cached, and
# the SHA-256 of the file that Keras checks before trusting its cache.
KERAS_CACHE = pathlib.Path("datasets") / NPZ_NAME
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
IMAGE_SIZE = 28
NUM_CLASSES = 10
# The original programs hold out the first 5,000 training images.
NUM_HELD_OUT = 5_000


class MNISTError(Exception):
    """MNIST could not be found, or what was found is not the official data."""


@dataclasses.dataclass(frozen=True)
class IdxFile:
    """One of the four original files, and what its content must be."""

    name: str
    magic: int
    shape: tuple
    sha256: str  # of the uncompressed content, as published for MNIST

    @property
    def header_size(self):
        return 4 + 4 * len(self.shape)

    @property
    def kind(self):
        return "images" if len(self.shape) == 3 else "labels"

    def header(self):
        """The file's IDX header: the magic number, then each dimension, big-endian."""
        return b"".join(n.to_bytes(4, "big") for n in (self.magic, *self.shape))


IDX_FILES = {
    "x_train": IdxFile(
        "train-images-idx3-ubyte",
        0x00000803,
        (60_000, IMAGE_SIZE, IMAGE_SIZE),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "y_train": IdxFile(
        "train-labels-idx1-ubyte",
        0x00000801,
        (60_000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "x_test": IdxFile(
        "t10k-images-idx3-ubyte",
        0x00000803,
        (10_000, IMAGE_SIZE, IMAGE_SIZE),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "y_test": IdxFile(
        "t10k-labels-idx1-ubyte",
        0x00000801,
        (10_000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}

_HOW_TO_FIX = (
    f"Set {MNIST_VARIABLE} to a folder that holds the four original MNIST files "
    f"({', '.join(f.name + '.gz' for f in IDX_FILES.values())}; gzip'ed or not) "
    f"or a Keras-layout {NPZ_NAME}."
)


def load_mnist():
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays.

    Shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,), exactly like
    ``keras.datasets.mnist.load_data()``. Raises `MNISTError` with the file,
    what was expected and how to fix it when the data is missing or wrong.
    """
    folder = os.environ.get(MNIST_VARIABLE, "").strip()
    arrays = _load_folder(pathlib.Path(folder)) if folder else _load_with_keras()
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _load_folder(folder):
    if not folder.exists():
        raise MNISTError(f"{MNIST_VARIABLE}={folder} does not exist. {_HOW_TO_FIX}")
    if not folder.is_dir():
        raise MNISTError(
            f"{MNIST_VARIABLE}={folder} is a file, not a folder. {_HOW_TO_FIX}"
        )
    found = {key: _find_idx(folder, spec.name) for key, spec in IDX_FILES.items()}
    if any(found.values()):
        missing = [IDX_FILES[key].name for key, path in found.items() if path is None]
        if missing:
            raise MNISTError(
                f"{folder} holds some MNIST files but not {', '.join(missing)} "
                "(looked for each name with and without .gz). Copy the missing "
                f"file(s) there. {_HOW_TO_FIX}"
            )
        return {key: _read_idx(path, IDX_FILES[key]) for key, path in found.items()}
    if (folder / NPZ_NAME).is_file():
        return _read_npz(folder / NPZ_NAME)
    entries = sorted(p.name for p in folder.iterdir())
    shown = ", ".join(entries[:10]) + (", ..." if len(entries) > 10 else "")
    raise MNISTError(
        f"{MNIST_VARIABLE}={folder} holds no MNIST files (it holds: "
        f"{shown or 'nothing'}). {_HOW_TO_FIX}"
    )


def _find_idx(folder, name):
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path, spec):
    """Read one IDX file and check its header, its length and its SHA-256."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise MNISTError(
                f"{path} is not a complete gzip file ({exc}): it is truncated "
                "or corrupted. Copy it again from the original MNIST files."
            ) from exc
    if len(raw) < spec.header_size:
        raise MNISTError(
            f"{path} holds {len(raw)} bytes, too few for an IDX header: it is "
            "truncated. Copy it again from the original MNIST files."
        )
    magic = int.from_bytes(raw[:4], "big")
    if magic != spec.magic:
        raise MNISTError(
            f"{path} starts with magic number {magic:#010x}, expected "
            f"{spec.magic:#010x} (IDX {spec.kind}). It is not the MNIST file its "
            "name says: check that the files were not renamed or mixed up."
        )
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big")
        for i in range(len(spec.shape))
    )
    if shape != spec.shape:
        raise MNISTError(
            f"{path} declares shape {shape}, expected {spec.shape}. It is not the "
            "official MNIST file."
        )
    expected_size = spec.header_size + int(np.prod(spec.shape))
    if len(raw) != expected_size:
        problem = (
            "truncated" if len(raw) < expected_size else "longer than the original"
        )
        raise MNISTError(
            f"{path} holds {len(raw)} bytes uncompressed, expected {expected_size}: "
            f"it is {problem}. Copy it again from the original MNIST files."
        )
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise MNISTError(
            f"{path} is corrupted: the SHA-256 of its content is {digest}, expected "
            f"{spec.sha256}. Copy it again from the original MNIST files."
        )
    return (
        np.frombuffer(raw, dtype=np.uint8, offset=spec.header_size)
        .reshape(spec.shape)
        .copy()
    )


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in IDX_FILES if key in npz.files}
            keys = list(npz.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise MNISTError(
            f"{path} is not a readable .npz file ({exc}): it is truncated or "
            f"corrupted. Replace it with Keras's mnist.npz. {_HOW_TO_FIX}"
        ) from exc
    missing = [key for key in IDX_FILES if key not in arrays]
    if missing:
        raise MNISTError(
            f"{path} lacks the arrays {', '.join(missing)} (it holds: "
            f"{', '.join(keys) or 'nothing'}); a Keras-layout mnist.npz holds "
            f"x_train, y_train, x_test, y_test. {_HOW_TO_FIX}"
        )
    _check_arrays(arrays, source=path)
    return arrays


def _load_with_keras():
    import keras  # Imported here: reading local files needs no TensorFlow.

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:
        cache = _keras_cache()
        if cache.is_file() and _file_sha256(cache) != KERAS_NPZ_SHA256:
            raise MNISTError(
                f"Keras's cached {cache} is corrupt (its SHA-256 is not the "
                f"published {KERAS_NPZ_SHA256}), and Keras could not download a new "
                f"copy ({type(exc).__name__}: {exc}). Delete {cache} to download it "
                f"again, or: {_HOW_TO_FIX}"
            ) from exc
        raise MNISTError(
            f"{MNIST_VARIABLE} is not set, and Keras could not download MNIST "
            f"({type(exc).__name__}: {exc}). Without internet access: {_HOW_TO_FIX}"
        ) from exc
    arrays = {
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
    }
    _check_arrays(arrays, source="keras.datasets.mnist.load_data()")
    return arrays


def _keras_cache():
    """Where Keras caches ``mnist.npz``: ``$KERAS_HOME/datasets`` (``~/.keras``)."""
    home = os.environ.get("KERAS_HOME") or pathlib.Path("~", ".keras").expanduser()
    return pathlib.Path(home) / KERAS_CACHE


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_arrays(arrays, source):
    """Check arrays not read from IDX files against the official files' checksums.

    Each array, behind the header of its IDX file, must hash to that file's
    published SHA-256: the same check as for the files themselves, so random
    pixels or shuffled labels in the right shapes do not pass as MNIST.
    """
    for key, spec in IDX_FILES.items():
        array = arrays[key]
        if array.shape != spec.shape or array.dtype != np.uint8:
            raise MNISTError(
                f"{source}: {key} has shape {array.shape} and dtype {array.dtype}, "
                f"expected {spec.shape} and uint8. {_HOW_TO_FIX}"
            )
        digest = hashlib.sha256(spec.header() + np.ascontiguousarray(array).tobytes())
        if digest.hexdigest() != spec.sha256:
            raise MNISTError(
                f"{source}: {key} has the right shape but not the official content "
                f"(the SHA-256 of its IDX layout is {digest.hexdigest()}, expected "
                f"{spec.sha256}, the checksum of {spec.name}): it is corrupted or "
                f"not MNIST. {_HOW_TO_FIX}"
            )


def as_sequences(images):
    """Scale uint8 images (n, 28, 28) to float32 in [0, 1], one row per time step.

    The array is already shaped (samples, time steps, features): row t of an
    image is the input at time step t.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"Expected images of shape (n, {IMAGE_SIZE}, {IMAGE_SIZE}), got "
            f"{images.shape}. Flat images of 784 pixels reshape with "
            f"images.reshape(-1, {IMAGE_SIZE}, {IMAGE_SIZE})."
        )
    if images.dtype != np.uint8:
        raise ValueError(f"Expected uint8 pixels in 0..255, got dtype {images.dtype}.")
    return images.astype(np.float32) / 255.0


@dataclasses.dataclass(frozen=True)
class Splits:
    """Training, validation and test sequences with their integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_sequences(profile=None):
    """Load MNIST as row sequences, split as the original TF1 programs split it.

    The first 5,000 training images are the validation pool and the other
    55,000 the training pool; the profile (a `rnnbook.config.Profile` or its
    name; by default the one ``RNNBOOK_PROFILE`` selects) says how many of
    each, and of the 10,000 test images, to use.
    """
    profile = config.get_profile(profile)
    sizes = profile.data
    check_sizes(sizes, f"profile {profile.name!r}")
    (x_train, y_train), (x_test, y_test) = load_mnist()
    training = slice(NUM_HELD_OUT, NUM_HELD_OUT + sizes.num_train)
    validation = slice(0, sizes.num_validation)
    test = slice(0, sizes.num_test)
    return Splits(
        x_train=as_sequences(x_train[training]),
        y_train=y_train[training],
        x_validation=as_sequences(x_train[validation]),
        y_validation=y_train[validation],
        x_test=as_sequences(x_test[test]),
        y_test=y_test[test],
    )


def check_sizes(sizes, what):
    """Check a profile's split sizes against what MNIST holds; raise naming the bad one.

    The validation images come from the 5,000 held out at the start of the
    training file and the training images from the 55,000 after them, so a
    larger validation split would overlap the training one, and a size beyond
    a pool would be cut short without a word.
    """
    limits = {
        "num_validation": NUM_HELD_OUT,
        "num_train": IDX_FILES["x_train"].shape[0] - NUM_HELD_OUT,
        "num_test": IDX_FILES["x_test"].shape[0],
    }
    for name, limit in limits.items():
        value = getattr(sizes, name)
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or not 1 <= value <= limit
        ):
            raise ValueError(
                f"{what}: {name}={value!r} must be a whole number of images from 1 to "
                f"{limit:,} (the {name.removeprefix('num_')} pool of MNIST); change it "
                "in rnnbook.config.DATA."
            )
