"""Datasets: clips with captions and splits, opened from URI-like specs (see specs.py)."""
from .clip import Clip
from .dataset import Dataset
from .specs import open_dataset

__all__ = ["Clip", "Dataset", "open_dataset"]
