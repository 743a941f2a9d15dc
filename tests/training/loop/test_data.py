"""training.loop.data reads CIFAR10 and Fashion-MNIST from their real on-disk formats: the tests write
small datasets in those formats and read them back through the code the real files go through."""

import gzip

import numpy as np
import pytest
import torch

from training.loop import data


def _images(n, shape, seed, classes=10):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g)
    return data.Images(images, torch.randint(0, classes, (n,), generator=g), tuple("abcdefghij"))


def test_cifar10_reads_its_pickled_batches(tmp_path):
    train, test = _images(13, (3, 32, 32), 0), _images(4, (3, 32, 32), 1)
    data.write_cifar10(tmp_path, train, test)
    assert sorted(p.name for p in (tmp_path / "cifar-10-batches-py").iterdir()) == sorted(
        [*data.CIFAR10_TRAIN, *data.CIFAR10_TEST, "batches.meta"]
    )
    for split, expected in ((True, train), (False, test)):
        loaded = data.load("cifar10", tmp_path, train=split)
        assert loaded.images.dtype == torch.uint8 and loaded.labels.dtype == torch.int64
        assert torch.equal(loaded.images, expected.images)  # the five batches, in order
        assert torch.equal(loaded.labels, expected.labels)
        assert loaded.classes == train.classes


def test_cifar10_absent_and_offline_says_where_to_put_it(tmp_path, monkeypatch):
    def offline(root, train, download):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr("torchvision.datasets.CIFAR10", offline)
    with pytest.raises(data.DatasetMissing) as error:
        data.load("cifar10", tmp_path, train=True)
    message = str(error.value)
    assert "Network is unreachable" in message
    assert data.CIFAR10_URL in message and str(tmp_path / "cifar-10-batches-py") in message


def test_cifar10_incomplete_folder_is_named(tmp_path):
    data.write_cifar10(tmp_path, _images(5, (3, 32, 32), 0), _images(2, (3, 32, 32), 1))
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(data.DatasetMissing, match="data_batch_3"):
        data.load("cifar10", tmp_path, train=True)


def test_fashion_mnist_reads_idx_gz_pads_to_32(tmp_path):
    train, test = _images(9, (28, 28), 0), _images(3, (28, 28), 1)
    data.write_fashion_mnist(tmp_path, train, test)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "rb") as f:
        header = f.read(16)
    assert header == bytes([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28])  # IDX, as Zalando's
    loaded = data.load("fashion-mnist", tmp_path, train=True)
    assert loaded.images.shape == (9, 1, 32, 32)
    assert torch.equal(loaded.images[:, 0, 2:30, 2:30], train.images)
    assert loaded.images[:, :, :2].sum() == 0 and loaded.images[:, :, :, 30:].sum() == 0
    assert torch.equal(loaded.labels, train.labels)
    assert loaded.classes == data.FASHION_MNIST_CLASSES
    assert torch.equal(data.load("fashion-mnist", tmp_path, train=False).labels, test.labels)


def test_fashion_mnist_search_order_data_dir_torchvision_debian(tmp_path, monkeypatch):
    debian, torchvision_root = tmp_path / "debian", tmp_path / "tv"
    data.write_fashion_mnist(debian, _images(3, (28, 28), 0), _images(2, (28, 28), 1))
    data.write_fashion_mnist(
        torchvision_root / "FashionMNIST" / "raw", _images(4, (28, 28), 2), _images(2, (28, 28), 3)
    )
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", debian)
    assert len(data.load("fashion-mnist", tmp_path / "empty", train=True)) == 3  # Debian's
    assert len(data.load("fashion-mnist", torchvision_root, train=True)) == 4  # torchvision's


def test_fashion_mnist_absent_names_the_debian_package(tmp_path, monkeypatch):
    def offline(root, train, download):
        raise OSError("offline")

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    monkeypatch.setattr("torchvision.datasets.FashionMNIST", offline)
    with pytest.raises(data.DatasetMissing, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist", tmp_path, train=True)


def test_idx_reader_rejects_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    data.write_idx(path, np.zeros((2, 3, 4), dtype=np.uint8))
    assert data.read_idx(path).shape == (2, 3, 4)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(data.DatasetMissing, match="truncated"):
        data.read_idx(path)
    path.write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(data.DatasetMissing, match="not an IDX file"):
        data.read_idx(path)


@pytest.mark.skipif(
    not (data.DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist_test_labels_are_balanced():
    labels = data.read_idx(data.DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz")
    assert np.bincount(labels).tolist() == [1000] * 10  # the published test split


def test_channel_stats_of_known_pixels():
    images = torch.tensor([[[[0, 255]]], [[[255, 255]]]], dtype=torch.uint8)  # (2, 1, 1, 2)
    mean, std = data.Images(images, torch.zeros(2), ()).channel_stats()
    assert mean == pytest.approx((0.75,)) and std == pytest.approx((np.std([0, 1, 1, 1], ddof=1),))


# Broken, partial or foreign files: one clear DatasetMissing each ---------------------------------


def _fashion_mnist(root, seed=0):
    data.write_fashion_mnist(root, _images(6, (28, 28), seed), _images(4, (28, 28), seed + 1))
    return root


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not gzip at all", "unreadable"),
        (gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 9]) + bytes(9))[:-12], "unreadable"),  # cut
        (gzip.compress(bytes([0, 0, 8, 3, 0, 0])), "truncated inside its header"),
        (gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 4]) + bytes(3)), "truncated"),
        (gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 4]) + bytes(5)), "longer than its header"),
        (gzip.compress(bytes([0, 0, 0x0C, 1, 0, 0, 0, 2]) + bytes(5)), "truncated"),  # int32s
    ],
    ids=["not-gzip", "cut-gzip", "cut-header", "cut-values", "extra-bytes", "cut-int32"],
)
def test_broken_idx_files_are_a_clear_error(tmp_path, content, message):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(data.DatasetMissing, match=message):
        data.read_idx(path)


def test_a_missing_label_file_is_named(tmp_path):
    (_fashion_mnist(tmp_path) / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DatasetMissing, match="lacks train-labels-idx1-ubyte.gz"):
        data.load("fashion-mnist", tmp_path, train=True)


def test_a_folder_with_train_but_no_test_is_refused_not_completed_from_elsewhere(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", _fashion_mnist(tmp_path / "debian", seed=5))
    root = _fashion_mnist(tmp_path / "mine")
    for name in data.FASHION_MNIST_FILES[False]:
        (root / f"{name}.gz").unlink()
    with pytest.raises(data.DatasetMissing, match=f"{root} lacks t10k-images"):
        data.load("fashion-mnist", root, train=False)


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((3, 32, 32), np.uint8), np.zeros(3, np.uint8), r"expected uint8 \(N, 28, 28\)"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "labels uint8 \\(2,\\) for 3"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), "outside 0..9"),
    ],
)
def test_fashion_mnist_of_the_wrong_shape_or_labels_is_refused(tmp_path, images, labels, message):
    _fashion_mnist(tmp_path)
    data.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(data.DatasetMissing, match=message):
        data.load("fashion-mnist", tmp_path, train=True)


@pytest.mark.parametrize("cut", [b"", b"\x80\x02}q\x00(", b"garbage"])
def test_a_corrupt_cifar10_batch_is_a_clear_error(tmp_path, cut):
    data.write_cifar10(tmp_path, _images(5, (3, 32, 32), 0), _images(2, (3, 32, 32), 1))
    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(cut)
    with pytest.raises(data.DatasetMissing, match="data_batch_2 is unreadable"):
        data.load("cifar10", tmp_path, train=True)


def test_cifar10_without_its_test_batch_is_refused_when_the_training_split_is_read(tmp_path):
    data.write_cifar10(tmp_path, _images(5, (3, 32, 32), 0), _images(2, (3, 32, 32), 1))
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(data.DatasetMissing, match="lacks test_batch"):
        data.load("cifar10", tmp_path, train=True)


# Fingerprints --------------------------------------------------------------------------------


def test_the_fingerprint_is_the_same_for_the_same_images_read_again(tmp_path):
    data.write_cifar10(tmp_path, _images(5, (3, 32, 32), 0), _images(2, (3, 32, 32), 1))
    first, again = (data.load("cifar10", tmp_path, train=True).fingerprint() for _ in range(2))
    assert first == again and first["shape"] == [5, 3, 32, 32]


@pytest.mark.parametrize(
    "change",
    [
        lambda s: data.Images(_images(300, (3, 32, 32), 1).images, s.labels, s.classes),
        lambda s: data.Images(s.images, s.labels.roll(1), s.classes),
        lambda s: s.head(len(s) - 1),  # fewer of them
    ],
)
def test_the_fingerprint_tells_other_images_labels_or_sizes_apart(change):
    images = _images(300, (3, 32, 32), 0)
    assert change(images).fingerprint() != images.fingerprint()
