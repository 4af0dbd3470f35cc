"""Training data: sample format, region labels, synthetic generator, dataset loaders."""
from .regions import region_labels
from .sample import Sample, make_sample
from .synthetic import SyntheticMattingDataset, make_clip

__all__ = ["Sample", "SyntheticMattingDataset", "make_clip", "make_sample", "region_labels"]
