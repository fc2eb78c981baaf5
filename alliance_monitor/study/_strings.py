"""The fixed text of the study's newer tables, charts and notes, in one table per language.

Every sentence the item table, the distributions, the pattern-alliance link, the sessions view,
the feedback loop and `evaluate --compare` write comes from here by key, with ``{name}``
fields filled by `text`. A translation is one more dict in `TEXT` with the same keys (a
missing key falls back to English), so nothing else changes to add a language.
"""

from __future__ import annotations

__all__ = ["ITEM_LABELS", "LANGUAGES", "TEXT", "text"]

EN: dict[str, str] = {
    # ---- items (G1-G4, T1-T4, B1-B4): short paraphrases of domain.md's constructs
    "item.G1": "clear about the aims",
    "item.G2": "goals both agreed to",
    "item.G3": "shared view of the problem",
    "item.G4": "shared view of good change",
    "item.T1": "agree on the steps",
    "item.T2": "current activity is useful",
    "item.T3": "agree on what matters",
    "item.T4": "client accepts the way of working",
    "item.B1": "mutual warmth",
    "item.B2": "confidence in the counselor",
    "item.B3": "client feels respected",
    "item.B4": "mutual trust",
    "phase.early": "Early",
    "phase.middle": "Middle",
    "phase.late": "Late",
    # ---- Table 1b: items by phase
    "items.title": (
        "Table 1b. Alliance items by phase: mean [{level} CI], n = {n} pairs; Friedman p "
        "adjusted for the twelve items by Holm's method."
    ),
    "items.head": (
        "| Item | Early | Middle | Late | Late − early | Friedman χ²(2) | p | p (Holm, 12 items) "
        "| Kendall's W | RM-ANOVA p (GG) |"
    ),
    "items.note": (
        "Twelve items are tested at once, so the Friedman p-values are adjusted by Holm's "
        "step-down method (family-wise error rate at most α across the twelve): read the Holm "
        "column against α = 0.05. Same pairs and tests as Table 1; a dimension is the mean of "
        "its four items."
    ),
    "items.none": "No item ratings: the scorer returned none for the phase windows.",
    "items.section": "Items by phase",
    # ---- distributions
    "dist.section": "How scores spread, per phase",
    "dist.title": (
        "Table 1c. Score distribution per dimension and phase: median, quartiles and range "
        "over the n = {n} pairs of Table 1."
    ),
    "dist.head": "| Dimension | Phase | n | Median | Quartiles | Min–max |",
    "dist.chart": "{dim}: share of pairs per quarter level, by phase",
    "dist.caption": (
        "Each row is one phase: the share of the {n} pairs in each quarter level from 1 to 5 "
        "(bar height), with the median marked by the phase's symbol. Scores near 3 mean little "
        "evidence either way."
    ),
    "dist.axis": "level (1-5 scale)",
}

#: Language code -> its table. A translation adds its own (same keys).
TEXT: dict[str, dict[str, str]] = {"en": EN}
LANGUAGES: tuple[str, ...] = tuple(TEXT)
#: The item ids' short labels in English (tables and charts use `text("item.G1")`).
ITEM_LABELS: dict[str, str] = {k[5:]: v for k, v in EN.items() if k.startswith("item.")}


def text(key: str, lang: str = "en", **fields: object) -> str:
    """The text of `key` in `lang` (English where the translation lacks it), fields filled."""
    template = TEXT.get(lang, EN).get(key) or EN[key]
    return template.format(**fields) if fields else template
