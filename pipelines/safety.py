"""No output may land on, inside, or around a file the run reads.

Every path is compared resolved (symlinks and ``..`` followed) and, for files that
exist, by identity (a hard link is the same file under another name).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pipelines.errors import UsageError
from pipelines.options import MatteOptions, resolve


class ReadSet:
    """The files and folders one run (one video, or a whole batch) reads."""

    def __init__(self, paths: Iterable[str | os.PathLike]):
        self.paths: list[tuple[Path, str]] = []  # (resolved, as the user wrote it)
        self.ids: dict[tuple[int, int], str] = {}
        for p in paths:
            self.add(p)

    @classmethod
    def of_run(cls, inputs: Iterable[str | os.PathLike], opts: MatteOptions) -> "ReadSet":
        """The inputs, the background (when it is a file) and the model folder (when it is
        one: a folder that is not a model fails at loading, before anything is written)."""
        reads = cls(inputs)
        if opts.background is not None and Path(opts.background).exists():
            reads.add(opts.background)
        if opts.model is None:
            from tdm.assets import demo_model

            model = demo_model()
        else:
            model = opts.model
        if isinstance(model, (str, Path)) and (Path(model).expanduser() / "model_index.json").is_file():
            reads.add(Path(model).expanduser())
        return reads

    def add(self, path: str | os.PathLike) -> None:
        resolved = resolve(path)
        self.paths.append((resolved, str(path)))
        try:
            st = resolved.stat()
        except OSError:
            return
        self.ids.setdefault((st.st_dev, st.st_ino), str(path))

    def check_output(self, output: str | os.PathLike) -> None:
        """UsageError if writing ``output`` could replace, delete or add to something read."""
        target = resolve(output)
        for read, name in self.paths:
            if target == read:
                raise UsageError(f"{output}: output would overwrite {name}, which this run reads")
            if read.is_relative_to(target):
                raise UsageError(f"{output}: output would replace a folder holding {name}, "
                                 "which this run reads")
            if target.is_relative_to(read):
                raise UsageError(f"{output}: output would be written inside {name}, "
                                 "which this run reads")
        try:
            st = target.stat()
        except OSError:
            return
        same = self.ids.get((st.st_dev, st.st_ino))
        if same is not None:
            raise UsageError(f"{output}: is the same file as {same} (a hard link), "
                             "which this run reads")
