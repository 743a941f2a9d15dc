"""The training commands' smaller faults, each one line with a non-zero exit, nothing lost:
a checkpoint whose weights do not fit its config, cut or empty metrics and pair files, too few
test images, memory running out; and what a run says or records instead of staying silent:
a --subset beyond the data, the precision of every epoch."""

import json
from dataclasses import asdict, replace

import pytest
import torch

from training import pair, probe, run
from training.loop import outputs, runner
from training.loop.config import Config

TINY = [
    "--dataset",
    "cifar10",
    "--subset",
    "8",
    "--batch-size",
    "4",
    "--image-size",
    "16",
    "--width",
    "4",
    "--probe-size",
    "6",
    "--epochs",
    "1",
    "--linear-epochs",
    "2",
]


def only_error(err: str) -> str:
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error: ")]
    return line


def test_a_checkpoint_whose_weights_do_not_fit_its_config_is_one_line(cifar, tmp_path, capsys):
    cfg = replace(
        Config(),
        dataset="cifar10",
        data_dir=str(cifar),
        image_size=16,
        width=4,
        probe_size=6,
        batch_size=4,
        subset=8,
    )
    state = {key: {} for key in ("online", "target", "predictor", "optimizer", "rng")}
    state |= {
        "format": outputs.CHECKPOINT_FORMAT,
        "config": asdict(cfg),
        "epoch": 1,
        "step": 2,
        "history": [],
    }
    torch.save(state, tmp_path / "checkpoint.pt")
    assert probe.main([str(tmp_path)]) == 1
    line = only_error(capsys.readouterr().err)
    assert "do not fit the network" in line and "checkpoint.pt" in line


@pytest.mark.parametrize(
    "text, problem", [('{"epoch": 0}\n{"epo', "line 2 is cut"), ("", "is empty")]
)
def test_a_cut_or_empty_metrics_file_is_one_line_naming_it(tmp_path, capsys, text, problem):
    (tmp_path / "metrics.jsonl").write_text(text)
    page = tmp_path / "page.md"
    page.write_text("<!-- begin probes -->\n<!-- end probes -->\n")
    assert probe.main([str(tmp_path), "--history", "--markdown", str(page)]) == 2
    line = only_error(capsys.readouterr().err)
    assert str(tmp_path / "metrics.jsonl") in line and problem in line


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"first": "byol", "sec', "cut or not JSON"),
        ('{"first": "byol"}', "not a finished pair's result"),
    ],
)
def test_a_cut_or_incomplete_pair_file_is_one_line_naming_it(tmp_path, capsys, text, problem):
    (tmp_path / "pair.json").write_text(text)
    assert pair.main(["--table", str(tmp_path)]) == 2
    line = only_error(capsys.readouterr().err)
    assert str(tmp_path / "pair.json") in line and problem in line


def test_a_test_set_of_one_image_is_one_line_and_exit_1(make_cifar, tmp_path, capsys):
    data_dir = make_cifar(12, 1)
    assert (
        run.main(["byol", *TINY, "--data-dir", str(data_dir), "--out", str(tmp_path / "out")]) == 1
    )
    assert "at least 2" in only_error(capsys.readouterr().err)


def test_running_out_of_memory_is_one_line_naming_what_to_make_smaller(
    tmp_path, capsys, monkeypatch
):
    def too_large(*args, **options):
        raise MemoryError

    monkeypatch.setattr(runner, "run_in_folder", too_large)
    assert run.main(["byol", "--image-size", "1000", "--out", str(tmp_path / "out")]) == 1
    assert "--image-size" in only_error(capsys.readouterr().err)


def test_a_subset_beyond_the_data_says_what_it_used_and_every_epoch_records_its_precision(
    cifar, tmp_path, capsys
):
    out = tmp_path / "out"
    options = [o if o != "8" else "100" for o in TINY]
    assert run.main(["byol", *options, "--data-dir", str(cifar), "--out", str(out)]) == 0
    assert "--subset 100 is more than the 12 training images" in capsys.readouterr().err
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["precision"] for m in lines] == ["fp32", "fp32"]


def test_a_pair_whose_loss_becomes_non_finite_stops_before_measuring_its_broken_weights(
    cifar, tmp_path, monkeypatch, capsys
):
    train_epoch = runner.train_epoch

    def diverging_epoch(live, *args):
        losses = train_epoch(live, *args)
        with torch.no_grad():
            for p in live.online.parameters():
                p.fill_(float("nan"))
        return [float("nan")] * len(losses)  # the epoch's step losses

    monkeypatch.setattr(runner, "train_epoch", diverging_epoch)
    out = tmp_path / "p"
    options = [
        "--dataset",
        "cifar10",
        "--data-dir",
        str(cifar),
        "--batch-size",
        "4",
        "--image-size",
        "16",
        "--width",
        "4",
        "--probe-size",
        "6",
        "--epochs",
        "2",
        "--precision",
        "fp64",
        "--out",
        str(out),
    ]
    assert pair.main(["byolp-lp", "raft-lp", *options]) == 0
    assert "non-finite in epoch 1" in json.loads((out / "pair.json").read_text())["stopped"]
