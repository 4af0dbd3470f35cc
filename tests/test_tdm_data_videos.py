"""Frame-level video matting loader: frame folders and video files with an injected reader."""
import json

import av
import cv2
import numpy as np
import pytest

from tdm.data import VideoMattingDataset, open_dataset


def _write_mp4(path, frames):
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _reader(calls):
    def read_frames(path, indices):
        calls.append((path, list(indices)))
        with av.open(path) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        return np.stack([frames[i] for i in indices])
    return read_frames


def _count(path):
    with av.open(path) as c:
        return sum(1 for _ in c.demux(video=0) if _.size)


def test_instance_layout_frame_folders(tmp_path):
    root = tmp_path / "vim"
    for t in range(3):
        (root / "frames/clip0").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / f"frames/clip0/{t:05d}.png"), np.full((24, 32, 3), 50 * t, np.uint8))
        for inst in ("0", "1"):
            (root / f"alphas/clip0/{inst}").mkdir(parents=True, exist_ok=True)
            a = np.zeros((24, 32), np.uint8)
            a[:, : 10 + 10 * int(inst)] = 255
            cv2.imwrite(str(root / f"alphas/clip0/{inst}/{t:05d}.png"), a)
    (root / "texts.json").write_text(json.dumps({"clip0": {"0": ["the left dog"], "1": "the cat"}}))
    ds = VideoMattingDataset(root, size=(24, 32), seed=0, augment=False)
    assert len(ds) == 6
    clip, frame = ds.locate(4)
    assert frame == 1 and clip.texts == ("the cat",)
    s = ds[4]
    assert s["image"].shape == (3, 24, 32) and s["alpha"].shape == (1, 24, 32) and s["text"] == "the cat"
    assert float(s["alpha"][0, 0, 15]) == 1.0 and float(s["alpha"][0, 0, 25]) == 0.0
    assert abs(float(s["image"].mean()) - (50 / 127.5 - 1)) < 1e-5
    assert ds[0]["text"] == "the left dog"


def test_videomatte_layout_with_mp4_and_injected_reader(tmp_path):
    root = tmp_path / "vm240k"
    T = 4
    fgr = np.zeros((T, 32, 48, 3), np.uint8)
    pha = np.zeros((T, 32, 48, 3), np.uint8)
    for t in range(T):
        fgr[t, :, :, 0] = 200
        pha[t, 8:24, 8 + 4 * t:24 + 4 * t] = 255
    _write_mp4(root / "fgr/0000.mp4", fgr)
    _write_mp4(root / "pha/0000.mp4", pha)
    calls = []
    ds = VideoMattingDataset(root, size=32, seed=0, read_frames=_reader(calls), count_frames=_count)
    assert len(ds) == T
    s = ds[2]
    assert s["image"].shape == (3, 32, 32) and s["text"] == "the person" and s["source"] == "video"
    assert 0.05 < float(s["alpha"].mean()) < 0.6
    assert {c[1][0] for c in calls} == {2} and len(calls) == 2  # fgr and pha, frame 2 only
    with pytest.raises(ValueError):
        VideoMattingDataset(root, size=32)  # video files need count_frames / read_frames
    spec = open_dataset(f"video:{root},text=the dancer", size=16, read_frames=_reader([]), count_frames=_count)
    assert spec[1]["text"] == "the dancer"


def test_frame_folders_are_read_in_the_order_tdm_video_reads_them(tmp_path):
    """f1..f10 (f10 sorts before f2 by name): training frame k is tdm-video's frame k."""
    import video
    from tdm.data import VideoClip

    for kind in ("frames", "alpha"):
        (tmp_path / kind).mkdir()
        for i in range(1, 11):
            cv2.imwrite(str(tmp_path / kind / f"f{i}.png"), np.full((4, 4), 20 * i, np.uint8))
    ds = VideoMattingDataset([VideoClip(tmp_path / "frames", tmp_path / "alpha", ("x",), 10)],
                             size=4, augment=False)
    trained = [round(float(ds[k]["alpha"].mean()) * 255) for k in range(10)]
    matted = [int(f.rgb[0, 0, 0]) for f in video.read_frames(tmp_path / "frames")]
    assert trained == matted == [20 * i for i in range(1, 11)]
