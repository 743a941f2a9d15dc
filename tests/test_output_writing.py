"""Every output file of both command lines goes through ``theory.files``: a link writes its
target, a folder, device or pipe is refused before any work, two options never write one file,
and a failed write keeps the printed verdicts and exits 1 with one line."""

import fcntl
import os
import stat
import subprocess
import sys

import pytest

from theory import claims, files, report
from theory.__main__ import main
from training import paper, reproduce
from training.loop import outputs
from training.loop.config import RunFailed

CHEAP = "appH-joint"  # holds in a fraction of a second
as_root = os.geteuid() == 0


def verify(capsys, *argv):
    code = main(["verify", CHEAP, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error: ")]


def with_block(path):
    begin, end = report.begin_marker(report.SUMMARY), report.end_marker(report.SUMMARY)
    path.write_text(f"# kept\n{begin}\nold\n{end}\n")
    return path


def test_a_report_through_a_symbolic_link_writes_its_target_and_keeps_the_link(capsys, tmp_path):
    real, link = tmp_path / "real.md", tmp_path / "link.md"
    real.write_text("old")
    link.symlink_to(real)
    assert verify(capsys, "--report", str(link))[0] == 0
    assert link.is_symlink() and real.read_text().startswith("# raft-verify report")


def test_a_summary_through_a_symbolic_link_rewrites_the_block_of_its_target(capsys, tmp_path):
    real, link = with_block(tmp_path / "README.md"), tmp_path / "link.md"
    link.symlink_to(real)
    assert verify(capsys, "--summary", str(link))[0] == 0
    assert (
        link.is_symlink() and f"`{CHEAP}`" in real.read_text() and "\nold\n" not in real.read_text()
    )


def test_a_named_pipe_as_report_is_refused_before_any_work(capsys, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    code, out, err = verify(capsys, "--report", str(tmp_path / "pipe"))
    assert (code, out) == (2, "") and "checking" not in err
    assert "named pipe" in error_lines(err)[0] and stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_device_as_report_is_refused_and_stays_a_device(capsys, device):
    if not os.path.exists(device):
        pytest.skip(f"{device} is not on this system")
    code, out, err = verify(capsys, "--report", device)
    assert (code, out) == (2, "") and "character device" in error_lines(err)[0]
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_report_and_summary_naming_one_file_are_refused_before_any_work(capsys, tmp_path):
    readme = with_block(tmp_path / "README.md")
    code, out, err = verify(capsys, "--report", str(readme), "--summary", str(readme))
    assert (code, out) == (2, "") and "checking" not in err
    assert "same file" in error_lines(err)[0] and readme.read_text().endswith(
        "old\n<!-- end verdicts -->\n"
    )


def test_report_and_summary_naming_one_file_through_a_link_are_refused(capsys, tmp_path):
    readme = with_block(tmp_path / "README.md")
    (tmp_path / "alias.md").symlink_to(readme)
    code, _, err = verify(capsys, "--report", str(tmp_path / "alias.md"), "--summary", str(readme))
    assert code == 2 and "same file" in error_lines(err)[0]


def test_a_failed_report_write_keeps_the_verdicts_printed_and_exits_1(
    capsys, tmp_path, monkeypatch
):
    path, verify_claim = tmp_path / "report.md", claims.verify

    def while_another_command_makes_a_folder_there(*args):
        path.mkdir(exist_ok=True)
        return verify_claim(*args)

    monkeypatch.setattr(claims, "verify", while_another_command_makes_a_folder_there)
    code, out, err = verify(capsys, "--report", str(path))
    assert code == 1 and out.startswith("claim") and CHEAP in out
    (line,) = error_lines(err)
    assert "report was not written" in line and "is a folder" in line and path.is_dir()


def test_the_verdicts_are_printed_before_any_file_is_written(capsys, tmp_path, monkeypatch):
    printed_first, write = [], files.write_atomically

    def noting_what_was_printed(*args, **options):
        printed_first.append(CHEAP in capsys.readouterr().out)
        write(*args, **options)

    monkeypatch.setattr(files, "write_atomically", noting_what_was_printed)
    assert verify(capsys, "--report", str(tmp_path / "r.md"))[0] == 0 and printed_first == [True]


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "kept.md"
    path.write_text("old")
    path.chmod(0o640)
    files.write_atomically(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_writer_that_fails_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "kept.md"
    path.write_text("old")
    with pytest.raises(ZeroDivisionError):
        files.write_atomically(path, lambda f: (f.write(b"partial"), 1 / 0))
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["kept.md"]


@pytest.mark.skipif(as_root, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_refused_before_any_work(capsys, tmp_path):
    tmp_path.chmod(0o500)
    try:
        code, _, err = verify(capsys, "--report", str(tmp_path / "r.md"))
    finally:
        tmp_path.chmod(0o700)
    assert code == 2 and "cannot write" in error_lines(err)[0]


def test_a_training_output_over_a_named_pipe_is_one_line_and_the_pipe_stays(tmp_path):
    os.mkfifo(tmp_path / "metrics.jsonl")
    with pytest.raises(RunFailed, match="named pipe"):
        outputs.write_json(tmp_path / "metrics.jsonl", {})
    assert stat.S_ISFIFO(os.stat(tmp_path / "metrics.jsonl").st_mode)


def test_a_non_utf8_markdown_page_is_one_line_naming_it(capsys, tmp_path):
    page = tmp_path / "page.md"
    page.write_bytes(b"\xff\xfe<!-- begin paper-consistency -->\n<!-- end paper-consistency -->\n")
    code = paper.main(["--markdown", str(page)])
    assert code == 2 and "not UTF-8" in error_lines(capsys.readouterr().err)[0]


def test_a_reproduction_page_that_is_one_of_its_own_outputs_is_refused_before_any_work(
    capsys, tmp_path
):
    page = tmp_path / "verdicts.md"
    page.write_text(
        f"{report.begin_marker('reproduce-table1-cpu')}\n{report.end_marker('reproduce-table1-cpu')}\n"
    )
    code = reproduce.main(
        ["table1", "--scale", "cpu", "--dry-run", "--out", str(tmp_path), "--markdown", str(page)]
    )
    out, err = capsys.readouterr()
    assert (code, out) == (2, "") and "same file" in error_lines(err)[0]


def test_a_report_into_the_folder_of_a_running_training_command_is_refused(capsys, tmp_path):
    with open(tmp_path / "run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as training.run holds its --out
        code, out, err = verify(capsys, "--report", str(tmp_path / "metrics.jsonl"))
    assert (code, out) == (2, "") and "training command that is running" in error_lines(err)[0]


@pytest.mark.parametrize("command", [["list"], ["verify", CHEAP]])
def test_an_ascii_only_terminal_gets_escapes_not_a_traceback(command):
    process = subprocess.run(
        [sys.executable, "-m", "theory", *command],
        capture_output=True,
        env=dict(os.environ, PYTHONIOENCODING="ascii"),
    )
    assert process.returncode == 0 and b"Traceback" not in process.stderr
    assert process.stdout.isascii() and b"\\u" in process.stdout


def test_a_loop_of_symbolic_links_as_report_is_one_line_before_any_work(capsys, tmp_path):
    (tmp_path / "a.md").symlink_to(tmp_path / "b.md")
    (tmp_path / "b.md").symlink_to(tmp_path / "a.md")
    code, out, err = verify(capsys, "--report", str(tmp_path / "a.md"))
    assert (code, out) == (2, "") and "cannot write" in error_lines(err)[0]


def test_a_reproduction_page_beside_an_out_folder_still_to_be_made_is_accepted(capsys, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        f"{report.begin_marker('reproduce-table1-cpu')}\n{report.end_marker('reproduce-table1-cpu')}\n"
    )
    code = reproduce.main(
        [
            "table1",
            "--scale",
            "cpu",
            "--dry-run",
            "--out",
            str(tmp_path / "new" / "sweep"),
            "--markdown",
            str(page),
        ]
    )
    assert code == 0 and "error" not in capsys.readouterr().err
