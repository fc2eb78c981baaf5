"""Scorers: the embedded offline scorer (default) and the interface others implement."""

from ._base import Scorer, SyncScorer

__all__ = ["Scorer", "SyncScorer"]
