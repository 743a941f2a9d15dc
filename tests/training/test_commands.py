"""What the commands share (training.cli), and the subcommands that replaced hidden modes: an
error is one line and its exit status; ``probe history`` and its former spelling agree."""

import json

import pytest

from training import cli, probe
from training.loop import config, data, signals


@pytest.mark.parametrize(
    "error, status",
    [
        (config.UsageError("bad"), 2),
        (config.RunFailed("broke"), 1),
        (data.DatasetMissing("gone"), 1),
        (signals.Interrupted(15), 143),
    ],
)
def test_each_error_is_one_line_and_its_exit_status(error, status, capsys):
    def work():
        raise error

    assert cli.exit_status(work) == status
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_an_unknown_name_is_bad_input_only_where_the_command_says_so(capsys):
    def work():
        raise KeyError("unknown variant 'x'")

    assert cli.exit_status(work, bad_input=(KeyError,)) == 2
    assert capsys.readouterr().err == "error: unknown variant 'x'\n"
    with pytest.raises(KeyError):
        cli.exit_status(work)


def _run_folder(tmp_path):
    lines = [
        {"epoch": 0, "step": 0, "thm41_max": None, "seconds": 1.0},
        {"epoch": 1, "step": 2, "thm41_max": 0.5, "seconds": 2.0},
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(tmp_path)


def test_probe_history_tabulates_every_epoch_of_metrics_jsonl(tmp_path, capsys):
    assert probe.main(["history", _run_folder(tmp_path)]) == 0
    assert (
        "Thm 4.1 max" in (out := capsys.readouterr().out)
        and "0.5" in out
        and len(out.splitlines()) == 3
    )


def test_the_former_history_flag_prints_the_same_table_with_a_note(tmp_path, capsys):
    folder = _run_folder(tmp_path)
    assert probe.main(["history", folder]) == 0
    table = capsys.readouterr()
    assert probe.main([folder, "--history"]) == 0
    former = capsys.readouterr()
    assert (
        former.out == table.out and former.err.startswith("note: ") and former.err.count("\n") == 1
    )


def test_probe_history_of_a_folder_without_metrics_is_bad_input(tmp_path, capsys):
    assert probe.main(["history", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
