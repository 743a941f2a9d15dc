"""Generated documents that the repository ships cite a commit that can be checked out: a dirty
tree is refused, naming the files, unless --allow-dirty, and then the document says so."""

import subprocess
from datetime import datetime, timezone

import pytest

from theory import claims, html_report, report


@pytest.fixture
def repository(tmp_path):
    """A git repository with one committed page holding a block."""

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "page.md").write_text("<!-- begin b -->\n<!-- end b -->\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return tmp_path


def test_a_clean_tree_is_written_from(repository):
    assert report.require_clean([repository / "page.md"], False, repository) == []


def test_a_dirty_tree_is_refused_naming_the_files_that_differ(repository):
    (repository / "code.py").write_text("x = 2\n")
    (repository / "new.py").write_text("")
    with pytest.raises(report.OutputError, match=r"code\.py, new\.py.*--allow-dirty"):
        report.require_clean([repository / "page.md"], False, repository)


def test_the_output_being_regenerated_does_not_count_as_a_change(repository):
    (repository / "page.md").write_text("<!-- begin b -->\nold\n<!-- end b -->\n")
    assert report.require_clean([repository / "page.md"], False, repository) == []


def test_an_output_outside_the_repository_is_not_held_to_it(repository, tmp_path_factory):
    (repository / "code.py").write_text("x = 2\n")
    assert report.require_clean([tmp_path_factory.mktemp("out") / "r.md"], False, repository) == []


def test_allow_dirty_returns_the_files_that_differ(repository):
    (repository / "code.py").write_text("x = 2\n")
    assert report.require_clean([repository / "page.md"], True, repository) == ["code.py"]


def test_a_report_written_with_allow_dirty_says_so(verdict):
    started, effort = datetime.now(timezone.utc), claims.Effort(seed=0)
    note = "Written with --allow-dirty: the working tree differed from commit"
    assert note in report.markdown([verdict("thm4.1")], effort, started, ["theory/x.py"])
    assert note in html_report.page([verdict("thm4.1")], effort, started, ["theory/x.py"])
