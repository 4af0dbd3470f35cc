"""tdm-train never destroys an earlier run or the stage it starts from, and a damaged
checkpoint or a bad number is one line, not a traceback."""
import os

import pytest

from pipelines.train import main

BASE = ["--preset", "tiny", "--data", "synthetic:length=4,max_objects=2", "--batch-size", "2",
        "--val-size", "0", "--no-progress", "--stage", "matting", "--resolution", "64"]


def run(capsys, *extra) -> tuple[int, list[str]]:
    try:
        code = main(BASE + [str(a) for a in extra])
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err.strip().splitlines()


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "s3"
    assert main(BASE + ["--max-steps", "1", "--output", str(out)]) == 0
    return out


def test_an_earlier_run_is_refused_without_resume_or_overwrite(capsys, earlier_run, one_thread):
    before = snapshot(earlier_run)
    code, err = run(capsys, "--max-steps", "1", "--output", earlier_run)
    assert code == 2 and len(err) == 1 and "--overwrite" in err[0], err
    assert snapshot(earlier_run) == before


def test_a_folder_with_any_file_counts_as_used(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, err = run(capsys, "--max-steps", "1", "--output", tmp_path)
    assert code == 2 and len(err) == 1
    assert (tmp_path / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1


def test_overwrite_replaces_an_earlier_run(capsys, tmp_path, earlier_run, one_thread):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(earlier_run, out)
    code, err = run(capsys, "--max-steps", "2", "--output", out, "--overwrite")
    assert code == 0, err
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("spell", ["{run}", "{run}/../{name}", "{run}/sub", "{parent}", "{link}"])
def test_the_init_stage_is_never_the_output(capsys, tmp_path, earlier_run, spell):
    link = tmp_path / "link"
    link.symlink_to(earlier_run)
    output = spell.format(run=earlier_run, name=earlier_run.name, parent=earlier_run.parent, link=link)
    before = snapshot(earlier_run)
    for flag in ([], ["--overwrite"]):
        code, err = run(capsys, "--max-steps", "1", "--init", earlier_run, "--output", output, *flag)
        assert code == 2 and len(err) == 1 and "--init" in err[0], err
    assert snapshot(earlier_run) == before


def test_an_output_that_is_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    code, err = run(capsys, "--max-steps", "1", "--output", tmp_path / "f")
    assert code == 2 and len(err) == 1 and "is a file" in err[0], err


@pytest.mark.parametrize("content", [b"", b"\x80\x02garbage", "truncate", "foreign"])
def test_resume_from_a_damaged_checkpoint_is_one_line(capsys, tmp_path, earlier_run, content):
    import shutil

    import torch

    out = tmp_path / "run"
    shutil.copytree(earlier_run, out)
    ckpt = out / "checkpoint.pt"
    if content == "truncate":
        data = ckpt.read_bytes()
        ckpt.write_bytes(data[: len(data) // 2])
    elif content == "foreign":
        torch.save({"weights": torch.zeros(2)}, ckpt)
    else:
        ckpt.write_bytes(content)
    code, err = run(capsys, "--max-steps", "1", "--output", out, "--resume")
    assert code == 2 and len(err) == 1 and "checkpoint" in err[0], err


@pytest.mark.parametrize("flag, value", [("--max-steps", "0"), ("--max-steps", "-5"),
                                         ("--batch-size", "0"), ("--grad-accum", "x"),
                                         ("--max-minutes", "0"), ("--max-minutes", "nan")])
def test_non_positive_counts_are_refused(capsys, tmp_path, flag, value):
    code, err = run(capsys, "--max-steps", "1", "--output", tmp_path / "o", flag, value)
    assert code == 2 and len(err) == 1 and flag in err[0], err
    assert not (tmp_path / "o").exists()


def test_resume_and_overwrite_together_are_refused(capsys, earlier_run):
    code, err = run(capsys, "--max-steps", "1", "--output", earlier_run, "--resume", "--overwrite")
    assert code == 2 and len(err) == 1


def test_an_unexpected_error_is_one_line_not_a_traceback(capsys, tmp_path, monkeypatch):
    import pipelines.train

    def boom(*args, **kwargs):
        raise RuntimeError("worker exploded\nwith details")

    monkeypatch.setattr(pipelines.train, "train", boom)
    code, err = run(capsys, "--max-steps", "1", "--output", tmp_path / "o")
    assert code == 1 and err == ["tdm-train: error: worker exploded (run with --debug for details)"]
    assert os.path.exists(tmp_path) and not (tmp_path / "o").exists()
