"""No run may destroy a user's file: outputs never land on, in or around what the run reads,
a PNG-folder output replaces only a folder of our own frames, and a manifest cannot
write outside its output folder. Each case is checked however the path is spelled."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pipelines.cli import video_main
from pipelines_fixtures import clip

pytestmark = pytest.mark.timeout(300)


def tdm_video(capsys, *argv, model: str) -> tuple[int, list[str]]:
    code = video_main([str(a) for a in argv] + ["--model", model, "--resolution", "64",
                                                "--device", "cpu", "--quiet"])
    return code, capsys.readouterr().err.strip().splitlines()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    """proj/clip.mp4 and proj/notes.txt: a user's folder."""
    proj = tmp_path / "proj"
    proj.mkdir()
    clip(proj / "clip.mp4", frames=4, audio=False)
    (proj / "notes.txt").write_text("do not lose me")
    return proj


@pytest.mark.parametrize("spelling", ["{proj}", "{proj}/", "{proj}/.", "{proj}/../proj"])
def test_a_folder_output_never_deletes_the_folder_holding_the_input(capsys, project, model_dir, spelling):
    before = snapshot(project)
    code, err = tdm_video(capsys, project / "clip.mp4", "-p", "the dog",
                          "-o", spelling.format(proj=project), model=model_dir)
    assert code == 2 and len(err) == 1 and err[0].startswith("tdm-video: error:"), err
    assert snapshot(project) == before


def test_a_folder_output_never_replaces_a_folder_of_other_files(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    renders = tmp_path / "renders"
    renders.mkdir()
    (renders / "000000.png").write_bytes(b"frame-like name")
    (renders / "earlier.mov").write_bytes(b"an earlier render")
    before = snapshot(renders)
    code, err = tdm_video(capsys, source, "-p", "the dog", "-o", renders, model=model_dir)
    assert code == 2 and len(err) == 1 and "earlier.mov" in err[0], err
    assert snapshot(renders) == before


def test_a_folder_of_our_own_frames_is_replaced(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    frames = tmp_path / "frames"
    assert tdm_video(capsys, source, "-p", "the dog", "-o", frames, model=model_dir)[0] == 0
    (frames / "000099.png").write_bytes(b"stale frame of an earlier, longer run")
    assert tdm_video(capsys, source, "-p", "the dog", "-o", frames, model=model_dir)[0] == 0
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:06d}.png" for i in range(4)]


def test_an_empty_folder_is_filled(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    (tmp_path / "empty").mkdir()
    assert tdm_video(capsys, source, "-p", "x", "-o", tmp_path / "empty", model=model_dir)[0] == 0
    assert len(list((tmp_path / "empty").iterdir())) == 4


def spellings_of(target: Path, tmp_path: Path) -> list[Path]:
    """Other names of ``target``: with '..', through a symlink, and a hard link."""
    (tmp_path / "sub").mkdir(exist_ok=True)
    symlink = tmp_path / "sub" / f"link{target.suffix}"
    symlink.symlink_to(target)
    hard = tmp_path / "sub" / f"hard{target.suffix}"
    os.link(target, hard)
    return [tmp_path / "sub" / ".." / target.relative_to(tmp_path), symlink, hard]


def test_the_background_is_never_overwritten(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    background = Path(clip(tmp_path / "bg.mp4", frames=4, audio=False))
    data = background.read_bytes()
    for out in [background, *spellings_of(background, tmp_path)]:
        code, err = tdm_video(capsys, source, "-p", "x", "--output-type", "composite",
                              "--background", background, "-o", out, model=model_dir)
        assert code == 2 and len(err) == 1 and "this run reads" in err[0], (out, err)
        assert background.read_bytes() == data


def test_the_input_is_never_overwritten_under_another_name(capsys, tmp_path, model_dir):
    source = Path(clip(tmp_path / "in.mp4", frames=4, audio=False))
    data = source.read_bytes()
    for out in spellings_of(source, tmp_path):
        code, err = tdm_video(capsys, source, "-p", "x", "-o", out, model=model_dir)
        assert code == 2 and len(err) == 1 and "this run reads" in err[0], (out, err)
        assert source.read_bytes() == data


def test_nothing_is_written_inside_the_model_or_an_image_folder_input(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    model_copy = tmp_path / "model"
    shutil.copytree(model_dir, model_copy)
    before = snapshot(model_copy)
    for out in [model_copy / "matte.mp4", model_copy, model_copy / "unet"]:
        code, err = tdm_video(capsys, source, "-p", "x", "-o", out, model=str(model_copy))
        assert code == 2 and len(err) == 1, (out, err)
    assert snapshot(model_copy) == before


def test_a_batch_output_never_overwrites_another_input(capsys, tmp_path, model_dir):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a", "a2"):
        clip(clips / f"{name}.mp4", frames=4, audio=False)
    before = snapshot(clips)
    code, err = tdm_video(capsys, clips, "-p", "x", "-o", f"{clips}/{{stem}}2.mp4", model=model_dir)
    assert code == 1  # a.mp4 -> a2.mp4 fails (a2.mp4 is an input); a2.mp4 -> a22.mp4 is written
    assert snapshot(clips)["a2.mp4"] == before["a2.mp4"] and (clips / "a22.mp4").is_file()


@pytest.mark.parametrize("output", ["/{abs}/escape.mkv", "../escape.mkv", "sub/../../escape.mkv",
                                    "link/escape.mkv"])
def test_a_manifest_cannot_write_outside_the_output_folder(capsys, tmp_path, model_dir, output):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "link").symlink_to(outside)
    manifest = jobs / "m.jsonl"
    target = output.format(abs=str(outside).strip("/"))
    manifest.write_text(json.dumps({"input": source, "prompt": "x", "output": target}) + "\n")
    code, err = tdm_video(capsys, manifest, model=model_dir)
    assert code == 2 and len(err) == 1 and "m.jsonl:1" in err[0] and "outside" in err[0], err
    assert not list(outside.iterdir()) and not (tmp_path / "escape.mkv").exists()


def test_a_manifest_may_write_outside_when_allowed(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    (tmp_path / "jobs").mkdir()
    manifest = tmp_path / "jobs" / "m.jsonl"
    manifest.write_text(json.dumps({"input": source, "prompt": "x", "output": "../out.mkv"}) + "\n")
    code, err = tdm_video(capsys, manifest, "--allow-outside-output", model=model_dir)
    assert code == 0, err
    assert (tmp_path / "out.mkv").is_file()


def test_manifest_outputs_are_resolved_inside_dash_o(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    (tmp_path / "renders").mkdir()
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"input": source, "prompt": "x", "output": "a.mkv"}) + "\n")
    assert tdm_video(capsys, manifest, "-o", tmp_path / "renders", model=model_dir)[0] == 0
    assert (tmp_path / "renders" / "a.mkv").is_file() and not (tmp_path / "a.mkv").exists()


@pytest.mark.parametrize("line, needle", [
    ('{"input": "in.mp4", "output": 42}', '"output" must be a string'),
    ('{"input": 7}', '"input"'),
    ('["in.mp4"]', '"input"'),
    ('{"input": "in.mp4", "prompt": ["a", 3]}', '"prompt" must be a string'),
    ("{not json", "not valid JSON"),
])
def test_manifest_fields_of_the_wrong_type_name_the_line(capsys, tmp_path, model_dir, line, needle):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n" + line + "\n")
    code, err = tdm_video(capsys, manifest, "-p", "x", "-o", tmp_path, model=model_dir)
    assert code == 2 and len(err) == 1 and "m.jsonl:2" in err[0] and needle in err[0], err


def test_prompts_that_collide_after_naming_are_both_named(capsys, tmp_path, model_dir):
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    code, err = tdm_video(capsys, source, "-p", "the dog", "-p", "the dog", "-p", "the-dog-2",
                          "-o", tmp_path / "o.mkv", model=model_dir)
    assert code == 2 and len(err) == 1 and "'the dog'" in err[0] and "'the-dog-2'" in err[0], err


@pytest.mark.parametrize("where", ["input", "output"])
def test_a_symlink_loop_is_one_line_exit_2(capsys, tmp_path, model_dir, where):
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    source = clip(tmp_path / "in.mp4", frames=4, audio=False)
    args = [loop, "-o", tmp_path / "o.mkv"] if where == "input" else [source, "-o", loop]
    code, err = tdm_video(capsys, *args, "-p", "x", model=model_dir)
    assert code == 2 and len(err) == 1 and "symbolic link loop" in err[0], err


def test_a_warning_is_one_line(capsys, tmp_path, model_dir):
    from video.synth import write_pattern_clip

    full = Path(write_pattern_clip(str(tmp_path / "full.mkv"), frames=24, width=64, height=48, gop=4))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    code, err = tdm_video(capsys, cut, "-p", "x", "-o", tmp_path / "o.mkv", model=model_dir)
    assert code == 0 and err and all(line.startswith("tdm-video: warning:") for line in err), err
