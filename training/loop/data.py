"""Datasets as uint8 tensors (N, C, H, W), read from their real on-disk formats.

- CIFAR10 (the paper's, Appendix B): torchvision's ``cifar-10-batches-py`` pickled batches
  under ``data_dir``; when absent, ``torchvision.datasets.CIFAR10`` downloads them (with its md5
  check of the archive). The batches are read here rather than by torchvision's class because
  that class insists on the real files' md5 sums, and the tests read generated files through
  this same code.
- Fashion-MNIST: IDX files (``train-images-idx3-ubyte.gz``, ...) from ``data_dir``, from
  torchvision's layout ``data_dir/FashionMNIST/raw``, or from Debian's ``dataset-fashion-mnist``
  package (``/usr/share/datasets/fashion-mnist``); when none has them,
  ``torchvision.datasets.FashionMNIST`` downloads them. The 28×28 grey images are zero-padded
  to 32×32 (the LeNet convention) and kept as one channel; ``augment`` replicates it to three.

``write_cifar10`` and ``write_fashion_mnist`` write small datasets in those same formats.
"""

import gzip
import hashlib
import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATASETS = ("cifar10", "fashion-mnist")
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = ("test_batch",)
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_PAD = 2  # 28 + 2·2 = 32
FASHION_MNIST_SIDE = 28
CLASSES = 10  # both datasets'
FINGERPRINT_SAMPLE = 256  # images hashed, spread evenly over the set


class DatasetMissing(RuntimeError):
    """The dataset's files are absent and could not be downloaded."""


@dataclass
class Images:
    """A labelled image set: ``images`` uint8 (N, C, H, W) with C = 1 or 3, ``labels`` int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple

    def __len__(self) -> int:
        return self.images.shape[0]

    def head(self, n: int | None) -> "Images":
        """The first n images (all when n is None)."""
        return self if n is None else Images(self.images[:n], self.labels[:n], self.classes)

    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation of the pixels, scaled to [0, 1]."""
        pixels = self.images.transpose(0, 1).reshape(self.images.shape[1], -1).double() / 255
        return tuple(pixels.mean(1).tolist()), tuple(pixels.std(1).tolist())

    def fingerprint(self) -> dict:
        """A cheap identity of the set, to tell it from another: its shape, and a hash of all its
        labels and of FINGERPRINT_SAMPLE images spread evenly over it. It tells another dataset,
        split or subset apart, not one changed image."""
        n = len(self)
        sample = torch.linspace(0, n - 1, min(n, FINGERPRINT_SAMPLE)).round().long()
        digest = hashlib.sha256(self.labels.cpu().contiguous().numpy().tobytes())
        digest.update(self.images[sample].cpu().contiguous().numpy().tobytes())
        return {"shape": list(self.images.shape), "sha256": digest.hexdigest()}


def load(name: str, data_dir: str | os.PathLike, train: bool) -> Images:
    """The training (``train=True``) or test split of ``name`` (one of ``DATASETS``)."""
    if name == "cifar10":
        return cifar10(Path(data_dir), train)
    if name == "fashion-mnist":
        return fashion_mnist(Path(data_dir), train)
    raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")


# CIFAR10 ---------------------------------------------------------------------------------------


def cifar10(root: Path, train: bool) -> Images:
    folder = root / CIFAR10_FOLDER
    if not folder.is_dir():
        _download_cifar10(root)
    # Both splits' files, whichever is loaded: a run needs both, and half a dataset is a broken
    # copy rather than one to complete from elsewhere.
    names = CIFAR10_TRAIN + CIFAR10_TEST + ("batches.meta",)
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DatasetMissing(
            f"CIFAR10 is incomplete: {folder} lacks {', '.join(missing)}. "
            f"Extract {CIFAR10_URL} into {root} again."
        )
    batches = [_cifar10_batch(folder / n) for n in (CIFAR10_TRAIN if train else CIFAR10_TEST)]
    images = np.concatenate([data for data, _ in batches]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([labels for _, labels in batches])
    try:
        classes = tuple(n.decode() for n in _unpickle(folder / "batches.meta")["label_names"])
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
        raise DatasetMissing(
            f"{folder / 'batches.meta'} is not CIFAR10's list of classes ({error!r})"
        ) from error
    return Images(torch.from_numpy(images), torch.from_numpy(labels).long(), classes)


def _cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The uint8 pixels (n, 3072) and labels (n,) of one batch file, or DatasetMissing saying
    what is wrong with it."""
    batch = _unpickle(path)
    try:
        data, labels = np.asarray(batch["data"]), np.asarray(batch["labels"])
    except KeyError as error:
        raise DatasetMissing(f"{path} is not a CIFAR10 batch (it has no {error} entry)") from error
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetMissing(f"{path} is not a CIFAR10 batch: data {data.dtype} {data.shape}")
    _check_labels(path, labels, len(data))
    return data, labels


def _unpickle(path: Path) -> dict:
    """A CIFAR10 file: a pickled dict written by Python 2, so its keys come back as bytes."""
    try:
        with open(path, "rb") as f:
            content = pickle.load(f, encoding="bytes")
        return {key.decode(): value for key, value in content.items()}
    except Exception as error:  # truncated, corrupt or foreign: the unpickler raises anything
        raise DatasetMissing(
            f"{path} is unreadable ({type(error).__name__}: {error}); extract {CIFAR10_URL} again"
        ) from error


def _check_labels(path: Path, labels: np.ndarray, count: int) -> None:
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetMissing(
            f"{path} has labels {labels.dtype} {labels.shape} for {count} images; expected "
            f"{count} integers"
        )
    if count and not (0 <= labels.min() and labels.max() < CLASSES):
        raise DatasetMissing(
            f"{path} has labels outside 0..{CLASSES - 1} ({labels.min()}..{labels.max()})"
        )


def _download_cifar10(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception as error:  # offline, DNS failure, HTTP error, bad checksum, full disk...
        raise DatasetMissing(
            f"CIFAR10 is not in {root / CIFAR10_FOLDER} and could not be downloaded "
            f"({type(error).__name__}: {error}). Download {CIFAR10_URL} and extract it into "
            f"{root} (so that {root / CIFAR10_FOLDER / 'data_batch_1'} exists), or pass "
            "--data-dir where it is."
        ) from error


def write_cifar10(root: Path, train: Images, test: Images) -> None:
    """Write ``train`` and ``test`` (uint8 (N, 3, 32, 32)) as CIFAR10's pickled python batches
    (keys ``b'data'`` (N, 3072) uint8 and ``b'labels'``; ``batches.meta`` with ``label_names``),
    the training images spread over the five ``data_batch_*`` files."""
    folder = Path(root) / CIFAR10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    parts = np.array_split(np.arange(len(train)), len(CIFAR10_TRAIN))
    splits = [(n, train, idx) for n, idx in zip(CIFAR10_TRAIN, parts)]
    splits.append((CIFAR10_TEST[0], test, np.arange(len(test))))
    for name, split, idx in splits:
        batch = {
            b"batch_label": name.encode(),
            b"labels": split.labels[idx].tolist(),
            b"data": split.images[idx].reshape(len(idx), -1).numpy(),
            b"filenames": [f"{name}_{i}.png".encode() for i in idx],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    meta = {b"label_names": [c.encode() for c in train.classes], b"num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f)


# Fashion-MNIST ---------------------------------------------------------------------------------


def fashion_mnist(root: Path, train: bool) -> Images:
    folder = _fashion_mnist_folder(root)
    if folder is None:
        _download_fashion_mnist(root)
        folder = _fashion_mnist_folder(root)
    images_path, labels_path = (_idx_file(folder, name) for name in FASHION_MNIST_FILES[train])
    images, labels = read_idx(images_path), read_idx(labels_path)
    side = FASHION_MNIST_SIDE
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (side, side):
        raise DatasetMissing(
            f"{images_path} does not hold Fashion-MNIST images: {images.dtype} "
            f"{tuple(images.shape)}, expected uint8 (N, {side}, {side})"
        )
    _check_labels(labels_path, labels, len(images))
    p = FASHION_MNIST_PAD
    padded = torch.nn.functional.pad(torch.from_numpy(images).unsqueeze(1), (p, p, p, p))
    return Images(padded, torch.from_numpy(labels.astype(np.int64)), FASHION_MNIST_CLASSES)


def _fashion_mnist_folder(root: Path) -> Path | None:
    """The first folder holding any of the four files (``root``, torchvision's layout,
    Debian's), which must then hold all four: a split missing there is not taken from the next
    folder, which may hold another copy."""
    names = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
    for folder in (root, root / "FashionMNIST" / "raw", DEBIAN_FASHION_MNIST):
        missing = [name for name in names if _idx_file(folder, name) is None]
        if len(missing) < len(names):
            if missing:
                raise DatasetMissing(
                    f"Fashion-MNIST is incomplete: {folder} lacks "
                    f"{', '.join(f'{name}.gz' for name in missing)} (or their uncompressed forms)"
                )
            return folder
    return None


def _idx_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _download_fashion_mnist(root: Path) -> None:
    from torchvision.datasets import FashionMNIST

    try:
        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
    except Exception as error:
        raise DatasetMissing(
            f"Fashion-MNIST is in neither {root}, {root / 'FashionMNIST' / 'raw'} nor "
            f"{DEBIAN_FASHION_MNIST}, and could not be downloaded ({type(error).__name__}: "
            f"{error}). Install Debian's package (apt-get install dataset-fashion-mnist), or put "
            f"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
            f"and t10k-labels-idx1-ubyte.gz in {root}."
        ) from error


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed when its name ends in .gz): two zero bytes, a type code, the
    number of dimensions, each dimension as a big-endian uint32, then the values. A file that
    is not one, or not whole, is DatasetMissing saying so."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError, zlib.error) as error:  # gzip's errors for a corrupt or cut file
        raise DatasetMissing(f"{path} is unreadable ({type(error).__name__}: {error})") from error
    if len(content) < 4 or content[:2] != b"\0\0" or content[2] not in _IDX_TYPES:
        raise DatasetMissing(f"{path} is not an IDX file (header {content[:4]!r})")
    ndim, offset = content[3], 4 + 4 * content[3]
    if len(content) < offset:
        raise DatasetMissing(f"{path} is truncated inside its header ({ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", content[4:offset])
    dtype = np.dtype(_IDX_TYPES[content[2]])
    expected, held = int(np.prod(shape)) * dtype.itemsize, len(content) - offset
    if held != expected:
        state = "truncated" if held < expected else "longer than its header says"
        raise DatasetMissing(
            f"{path} is {state}: header says {shape} of {dtype}, {expected} bytes; it holds {held}"
        )
    values = np.frombuffer(content, dtype=dtype, offset=offset)
    return values.reshape(shape).copy()  # frombuffer is read-only; torch wants writable memory


def write_idx(path: Path, values: np.ndarray) -> None:
    """Write uint8 ``values`` as an IDX file, gzip-compressed when ``path`` ends in .gz."""
    values = np.ascontiguousarray(values, dtype=np.uint8)
    header = bytes([0, 0, 0x08, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + values.tobytes())


def write_fashion_mnist(root: Path, train: Images, test: Images) -> None:
    """Write ``train`` and ``test`` (uint8 (N, 28, 28) or (N, 1, 28, 28)) as Fashion-MNIST's four
    gzip-compressed IDX files in ``root``."""
    Path(root).mkdir(parents=True, exist_ok=True)
    for is_train, split in ((True, train), (False, test)):
        images_name, labels_name = FASHION_MNIST_FILES[is_train]
        write_idx(
            Path(root) / f"{images_name}.gz", split.images.reshape(len(split), 28, 28).numpy()
        )
        write_idx(Path(root) / f"{labels_name}.gz", split.labels.numpy())
