"""posetrack.atomic: temp files named for their process, commits that never replace a file that
appeared meanwhile, stale temps of dead processes removed, write errors as one-line OutputErrors."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from posetrack.atomic import AtomicFile, output_error, remove_stale_parts, temp_files_of, temp_path
from posetrack.errors import OutputError


def test_commit_and_abort(tmp_path):
    target = tmp_path / "a.json"
    f = AtomicFile(target)
    f.file.write("{}")
    assert not target.exists() and f.tmp_path.name.startswith(f".a.json.posetrack-{os.getpid()}-")
    f.commit()
    assert target.read_text() == "{}" and list(tmp_path.iterdir()) == [target]
    g = AtomicFile(tmp_path / "b.json")
    g.abort()
    assert list(tmp_path.iterdir()) == [target]


def test_no_replace_keeps_the_file_that_appeared(tmp_path):
    """Another run's file that appears between our start and our commit is kept; ours goes."""
    target = tmp_path / "clip.csv"
    mine = AtomicFile(target, overwrite=False)
    mine.file.write("mine\n")
    target.write_text("theirs\n")  # another process finished first
    with pytest.raises(OutputError, match="appeared while this run was writing it"):
        mine.commit()
    assert target.read_text() == "theirs\n"
    assert list(tmp_path.iterdir()) == [target]  # no temp left
    replacing = AtomicFile(target, overwrite=True)  # --overwrite: replaced, as asked
    replacing.file.write("new\n")
    replacing.commit()
    assert target.read_text() == "new\n"


def test_stale_parts_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".clip.csv.posetrack-{dead_pid}-abc123.part"
    stale_video = tmp_path / f".clip.annotated.mp4.posetrack-{dead_pid}-x_y9.part.mp4"
    alive = temp_path(tmp_path / "clip.jsonl")  # this process: alive
    foreign = tmp_path / ".clip.csv.abcdef.part"  # not ours (no tag): never touched
    user = tmp_path / "notes.part"
    for p in (stale, stale_video, foreign, user):
        p.write_text("x")
    removed = remove_stale_parts(tmp_path)
    assert sorted(removed) == sorted([stale, stale_video])
    assert alive.exists() and foreign.exists() and user.exists()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EFBIG, "larger than allowed")])
def test_output_error_names_the_file_and_reason(tmp_path, code, words):
    err = output_error(tmp_path / "x.csv", OSError(code, os.strerror(code)))
    assert isinstance(err, OutputError) and "x.csv" in str(err) and words in str(err)


def test_temp_files_of_names_a_targets_temps_whoever_wrote_them(tmp_path):
    clip, other = tmp_path / "clip.csv", tmp_path / "clip.csv.bak"
    mine = temp_path(clip)
    video = temp_path(tmp_path / "clip.annotated.mp4", ".part.mp4")
    foreign = tmp_path / ".clip.csv.posetrack-999999-abc123.part"  # another machine's worker
    foreign.write_text("")
    temp_path(other)
    (tmp_path / ".clip.csv.other.part").write_text("")  # not this tool's naming
    assert sorted(temp_files_of(clip)) == sorted([mine, foreign])
    assert temp_files_of(tmp_path / "clip.annotated.mp4") == [video]
    assert temp_files_of(tmp_path / "missing" / "x.csv") == []
