"""Training data: sample format, region labels, synthetic generator, dataset loaders."""
from .interleave import InterleavedDataset, InterleavedSchedule
from .regions import region_labels
from .sample import Sample, make_sample
from .spec import open_dataset, parse_spec
from .synthetic import SyntheticMattingDataset, make_clip, make_pair_clip
from .videos import VideoClip, VideoMattingDataset

__all__ = ["InterleavedDataset", "InterleavedSchedule", "Sample", "SyntheticMattingDataset", "VideoClip",
           "VideoMattingDataset", "make_clip", "make_pair_clip", "make_sample", "open_dataset", "parse_spec",
           "region_labels"]
