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
    # ---- Table 3c: patterns and low-alliance windows
    "pattern.passive": "Passive",
    "pattern.directive": "Directive",
    "unit.window": "rolling windows",
    "unit.phase": "phase windows",
    "link.title": (
        "Table 3c. Counselor patterns and low-alliance {unit}: odds ratio of a low window given "
        "the pattern [{level} CI, {boot} resamples of pairs]; Cochran-Mantel-Haenszel test "
        "stratified by pair."
    ),
    "link.head": (
        "| Pattern | Low alliance means | Windows (pairs) | Low with the pattern | Low without "
        "| Odds ratio [CI] | CMH χ²(1) | p | Within-pair OR (MH) |"
    ),
    "link.def.level": "level ≤ 2 (evidence against)",
    "link.def.lowest_third": "lowest third of windows (≤ {cut})",
    "link.def.lowest_third_none": "lowest third of windows (too few windows)",
    "link.note": (
        "A window has a pattern when the monitor's rule holds in it (≥ 40% of its counselor "
        "messages flagged, at least 2). An odds ratio above 1 means low-alliance windows are "
        "more common with the pattern; its interval comes from resampling pairs, since a "
        "pair's windows are not independent (0.5 is added to every cell of a table with an "
        "empty cell). The test compares windows within the same pair, so what is constant "
        "about a pair (counselor, client, topic) cannot produce it; pairs whose windows all "
        "have, or all lack, the pattern add nothing. Two patterns are tested: for a "
        "family-wise α of 0.05 use p < 0.025. {abstained} windows the scorer abstained on "
        "(insufficient evidence or unscored) are left out ({passive} of them with the passive "
        "pattern, {directive} with the directive)."
    ),
    "link.chart": "Odds ratio of a low-alliance window given the pattern, with its interval",
    "link.axis": "odds ratio (log scale; 1 = no link)",
    "link.short.level": "level ≤ 2",
    "link.short.lowest_third": "lowest third",
    "link.no_estimate": "no estimate (no low window, or no window with the pattern)",
    "link.none": "No scored window: no pattern-alliance link.",
    "link.section": "Do the patterns go with a low alliance?",
    "ex.section": "What the patterns look like here",
    "ex.note": (
        "Up to three exchanges per pattern, one per pair, from the windows with the lowest "
        "alliance: the client's turn, the flagged counselor reply, the client's answer. Text "
        "is shown because the study was run with --include-text; names, numbers, e-mail and "
        "web addresses are redacted. Share it only where the transcripts may be shared."
    ),
    "ex.where": "Pair {cid}, window {window} (overall {overall}); flagged {score}",
    "ex.none": "No window with this pattern.",
    # ---- Table 5: sessions over time
    "sess.section": "Sessions over time",
    "sess.title": (
        "Table 5. Within a session and across sessions: share (count) by trajectory. Within: "
        "late vs early third of each session, n = {n_within} sessions. Across: the pair's last "
        "session vs its first, n = {n} pairs with two or more sessions."
    ),
    "sess.head": "| View | Dimension | {cats} | Declined or unchanged |",
    "sess.within": "Within a session (late vs early third)",
    "sess.across": "Across sessions (last vs first session)",
    "sess.bynum.title": (
        "Table 5b. Alliance by session number: mean [{level} CI] over the sessions with "
        "evidence, in pairs with two or more sessions; last − first session per pair."
    ),
    "sess.bynum.col": "Session {k}",
    "sess.bynum.last": "Session {k}+",
    "sess.bynum.change": "Last − first",
    "sess.bynum.n": "Sessions (without evidence)",
    "sess.note": (
        "A pair's sessions are ordered by when each began, and each session is scored in thirds "
        "on its own. Across sessions, declined means what it means for the live event: the "
        "last session's alliance is at least {tol:g} level below the first's AND a later "
        "session shows what fell (a client rupture the counselor did not repair, or "
        "overstepping), cited by message; a lower level without such evidence is unchanged. A "
        "pair whose first or last session has no window scored on enough evidence is "
        "insufficient evidence, never unchanged. {single} pairs have a single session and "
        "appear only in the within-session view."
    ),
    "sess.none": (
        "No pair has more than one session: the across-session view needs messages (or "
        "transcript records) that carry a session_id."
    ),
    "sess.chart": "Mean overall alliance by session number, with {level} confidence intervals",
    "sess.axis.x": "session number in the pair",
    "sess.traj.chart": "Share of pairs by trajectory, within a session and across sessions",
    # ---- Table 6: the feedback loop
    "fb.section": "Feedback to counselors: ratings and what followed",
    "fb.q.understanding": "It helped me understand the alliance",
    "fb.q.directions": "It showed me directions to improve",
    "fb.q.willingness": "I am willing to adjust my approach",
    "fb.kind.passive": "Passive pattern",
    "fb.kind.directive": "Directive pattern",
    "fb.kind.decline": "Alliance decline",
    "fb.chart": "Mean rating per question with its interval, beside the paper's mean",
    "fb.paper": "{q}: the paper's counselors gave {v}",
    "fb.axis": "rating (1-5)",
    "fb.caption": (
        "Filled diamond: this deployment's counselors (mean and interval); hollow circle: the "
        "mean the paper's counselors gave an LLM's feedback (Li et al. 2024)."
    ),
    "fb.none": "The feedback loop needs the replay (run without --no-replay).",
    "fb.ratings.title": (
        "Table 6. Counselors' ratings of the feedback, 1-5: mean [{level} CI], n = {n} "
        "ratings, beside the ratings the paper's counselors gave an LLM's feedback."
    ),
    "fb.ratings.head": "| Question | n | Mean [CI] | Li et al. 2024 |",
    "fb.recovery.title": (
        "Table 6b. What followed the feedback: mean of the pair's next two windows minus the "
        "feedback's window, in levels [{level} CI]: feedback delivered, against the same event "
        "in pairs with no feedback delivered yet; difference [interval from {boot} resamples "
        "of pairs]."
    ),
    "fb.recovery.head": (
        "| Feedback on | Delivered | No feedback yet | Difference | Not measurable "
        "(delivered / not yet) | Undelivered after earlier feedback |"
    ),
    "fb.note": (
        "Ratings and deliveries name feedback by the id of the event that carried it, the same "
        "in the live monitor and in this replay (with the monitor's default windows). An event "
        "with fewer than two scored windows after it is not measurable. The comparison is "
        "observational: counselors who receive or rate feedback may differ from the others. "
        "{source}"
    ),
    "fb.source": (
        "Ratings from {name}: {n} ratings and {d} deliveries of this corpus's pairs used, {other} "
        "of other pairs left out, {refused} records refused."
    ),
    "fb.source.none": (
        "No ratings file was given (--ratings): every event is in the no-feedback group, the "
        "course of a pair after a pattern when nobody said anything."
    ),
    "role.client": "Client",
    "role.counselor": "Counselor",
    "role.other": "Other",
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
