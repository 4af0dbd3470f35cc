"""media: the one list of image and video extensions and the one image-folder order."""
import media


def test_list_images_is_natural_and_keeps_only_image_files(tmp_path):
    for name in ("f10.png", "f2.JPG", "F1.webp", "notes.txt", "clip.mp4"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "f3.png").mkdir()  # a folder is not an image
    assert [p.name for p in media.list_images(tmp_path)] == ["F1.webp", "f2.JPG", "f10.png"]


def test_is_video_file(tmp_path):
    (tmp_path / "a.TS").write_bytes(b"x")
    (tmp_path / "b.mkv").mkdir()
    (tmp_path / "c.png").write_bytes(b"x")
    assert [media.is_video_file(tmp_path / n) for n in ("a.TS", "b.mkv", "c.png", "gone.mp4")] == [
        True, False, False, False]
