"""Scorers: the embedded offline scorer (default) and the interface others implement."""

from ._base import Scorer, SyncScorer
from ._embedded import EmbeddedScorer

__all__ = ["EmbeddedScorer", "Scorer", "SyncScorer"]
