"""The fixed text of the study's newer tables, charts and notes, in one table per language.

Every sentence the item table, the distributions, the pattern-alliance link, the sessions view,
the feedback loop and `evaluate --compare` write comes from here by key, with ``{name}``
fields filled by `text`. A translation is one more dict in `TEXT` with the same keys (a
missing key falls back to English), so nothing else changes to add a language.

The language is the report's: `report_language` sets it while summary.md and report.html are
written (``study --lang``, or detected from the corpus: `corpus_language`), and `text` reads it.
Chinese (``"zh"``) is written in Simplified characters, as a Chinese research report would put it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from .._decline import DEFINITION as DECLINE_DEFINITION
from .._decline import DEFINITION_ZH as DECLINE_DEFINITION_ZH

__all__ = [
    "ITEM_LABELS",
    "LANGUAGES",
    "TEXT",
    "Labels",
    "corpus_language",
    "report_language",
    "text",
]

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
    # ---- labels of dimensions and trajectory categories
    "dim.goal": "Goal",
    "dim.task": "Task (Approach)",
    "dim.bond": "Bond",
    "dim.overall": "Overall",
    "traj.declined": "Declined",
    "traj.unchanged": "Unchanged",
    "traj.improved_lt1": "Improved < 1 level",
    "traj.improved_ge1": "Improved ≥ 1 level",
    "traj.insufficient_evidence": "Insufficient evidence",
    # ---- the report's frame (report.html) and the first tables (summary.md)
    "report.html_lang": "en",
    "report.title": "Alliance study",
    "report.meta.pairs": "{n} pairs",
    "report.meta.sessions": " ({n} sessions)",
    "report.meta.scorer": " · scorer <code>{scorer}</code>",
    "report.meta.phase": " · {n} in the phase analysis (excluded: {excluded})",
    "report.none": "none",
    "report.shown.some": "The {k} most concerning of {n} pairs are shown.",
    "report.shown.all": "All {n} pairs are shown.",
    "report.nav": "Sections",
    "report.nav.phases": "1. Phases",
    "report.nav.trajectories": "2. Trajectories",
    "report.nav.patterns": "3. Patterns",
    "report.nav.sessions": "4. Sessions",
    "report.nav.feedback": "5. Feedback",
    "report.nav.pairs": "6. Pairs",
    "report.h.phases": "1. Alliance by phase",
    "report.h.trajectories": "2. Trajectories",
    "report.h.patterns": "3. Counselor patterns and alliance",
    "report.h.pairs": "6. Pairs",
    "report.phase.caption": (
        "Mean of the {n} pairs in each phase (early, middle, late thirds of each transcript) on "
        "the 1-5 evidence scale, with {level} t intervals. The axis is zoomed: differences of a "
        "tenth of a level look large here."
    ),
    "report.friedman.note": (
        "Do phases differ? Friedman test (each pair is measured in all three phases, so the "
        "phases are repeated measures; the ratings are bounded and tied, so ranks within each "
        "pair are compared rather than raw means). Repeated-measures ANOVA with the "
        "Greenhouse-Geisser correction is given as a parametric check. Four tests: for a "
        "family-wise α of 0.05 use p < 0.0125."
    ),
    "report.friedman.row": (
        "{dim}: χ²(2) = {chi2}, p {p}, Kendall's W {w}; late − early {change} levels"
    ),
    "report.traj.caption": (
        "Late phase minus early phase, per pair; a change smaller than {tol:g} level is "
        "unchanged. The study this library follows found nearly half of the pairs declined or "
        "stayed unchanged and fewer than 3% improved by a level or more."
    ),
    "report.pat.by_level": "By session alliance level",
    "report.pat.by_level.chart": (
        "Share of counselor messages flagged passive or directive, by session alliance level"
    ),
    "report.pat.by_third": "By thirds of the corpus ranked by session alliance",
    "report.pat.by_third.chart": (
        "Share of counselor messages flagged passive or directive, by third of the corpus "
        "ranked by session alliance"
    ),
    "report.pat.caption": (
        "Share of counselor messages scored passive (acknowledging without exploring) or "
        "directive (advice or instructions without permission): above by the session's overall "
        "alliance level (nearest level of the 1-5 scale), below by thirds of this corpus ranked "
        "by session alliance."
    ),
    "report.no_counselors": "No counselor ids in this corpus.",
    "report.pairs.note": (
        "{shown} Ordered by concern (safety signal, alliance decline, low alliance, counselor "
        "patterns, latest window below its start). Each sparkline is the overall alliance of "
        "the pair's rolling windows (dotted line: level 3); the label is the trajectory, the "
        "late third of the session against its early third. Select a pair to open its view: "
        "window scores per dimension, where patterns and declines fired, and the feedback given."
    ),
    "report.footer": (
        "Observer-rated alliance (Goal, Task, Bond; 1 = strong evidence against, 3 = no evidence "
        "either way, 5 = strong evidence for), scored by software. A screening aid for "
        "supervision and research, not a clinical instrument."
    ),
    "report.close": "Close",
    "report.ci": "{level} confidence interval",
    "md.intro.sessions": (
        "{sessions} sessions of {pairs} pairs scored (the phase tables count sessions)"
    ),
    "md.intro.pairs": "{pairs} pairs scored",
    "md.intro.scorer": " with the `{scorer}` scorer",
    "md.intro.tables": (
        "; {n} with three scored phases enter the phase table, {n_traj} the trajectory table"
    ),
    "md.intro.excluded": " (excluded: {excluded})",
    "md.intro.scale": ". Scores are on the 1-5 evidence scale; one level is one point.",
    "md.table1.title": "**Table 1. Alliance by phase: mean [{level} CI], n = {n} pairs.**",
    "md.table1.head": (
        "| Dimension | Early | Middle | Late | Late − early | Friedman χ²(2) | p | Kendall's W "
        "| RM-ANOVA p (GG) |"
    ),
    "md.table1.note": (
        "Friedman test: each pair is rated in all three phases (repeated measures), and the "
        "ratings are bounded, tied and skewed, so phases are compared by ranks within each pair. "
        "Four dimensions are tested: for a family-wise α of 0.05 use p < 0.0125. With many pairs "
        'a negligible shift is "significant": read Kendall\'s W and the late − early difference '
        "(in levels) for size."
    ),
    "md.table2.title": (
        "**Table 2. Trajectory (late vs early phase), share of pairs (count), n = {n}; "
        "|change| < {tol:g} is unchanged; a pair whose early or late phase lacks evidence is "
        "*insufficient evidence*, never unchanged.**"
    ),
    "md.table2.declined": "*Declined* means: " + DECLINE_DEFINITION,
    "report.traj.declined": "Declined means: " + DECLINE_DEFINITION,
    "md.table2.dim": "Dimension",
    "md.table2.both": "Declined or unchanged",
    "md.table3.title": (
        "**Table 3. Counselor patterns by session alliance level (overall score rounded to the "
        "nearest level).**"
    ),
    "md.table3.head": (
        "| Alliance level | Sessions | Counselor messages | Passive | Directive "
        "| Sessions with passive pattern | Sessions with directive pattern |"
    ),
    "md.table3b.title": (
        "**Table 3b. Counselor patterns by thirds of the corpus ranked by session alliance "
        "(relative groups; range of overall alliance in brackets).**"
    ),
    "md.table3b.head": (
        "| Alliance third | Sessions | Counselor messages | Passive | Directive "
        "| Sessions with passive pattern | Sessions with directive pattern |"
    ),
    "md.table3.note": (
        "Passive / Directive: share of counselor messages flagged (score ≥ 0.5). A session has a "
        "pattern when, in at least one phase, the flagged share meets the monitor's pattern "
        "policy (≥ 40% of the phase's counselor messages and at least 2)."
    ),
}

#: Chinese (Simplified), written for a Chinese corpus (issue 21).
ZH: dict[str, str] = {
    # ---- items: short paraphrases of the constructs (G1-G4, T1-T4, B1-B4)
    "item.G1": "咨询目标清晰",
    "item.G2": "目标由双方商定",
    "item.G3": "对问题的看法一致",
    "item.G4": "对好的改变看法一致",
    "item.T1": "对步骤有共识",
    "item.T2": "当前的做法有用",
    "item.T3": "对重点有共识",
    "item.T4": "来访者认可工作方式",
    "item.B1": "彼此有温暖",
    "item.B2": "信任咨询师的能力",
    "item.B3": "来访者感到被尊重",
    "item.B4": "相互信任",
    "phase.early": "前期",
    "phase.middle": "中期",
    "phase.late": "后期",
    # ---- Table 1b
    "items.title": (
        "表 1b. 各阶段的工作联盟条目：均值 [{level} 置信区间]，n = {n} 对；Friedman p 值按 Holm "
        "法对十二个条目做了校正。"
    ),
    "items.head": (
        "| 条目 | 前期 | 中期 | 后期 | 后期 − 前期 | Friedman χ²(2) | p | p（Holm，12 个条目） "
        "| Kendall's W | 重复测量方差分析 p（GG） |"
    ),
    "items.note": (
        "十二个条目同时检验，因此 Friedman p 值用 Holm 逐步法校正（十二个检验的族错误率不超过 α）："
        "请以 Holm 列对照 α = 0.05 来读。样本对和检验方法与表 1 相同；每个维度是其四个条目的均值。"
    ),
    "items.none": "没有条目评分：评分器没有为各阶段窗口给出条目分数。",
    "items.section": "各阶段的条目",
    # ---- distributions
    "dist.section": "各阶段的分数分布",
    "dist.title": "表 1c. 各维度、各阶段的分数分布：表 1 中 n = {n} 对的中位数、四分位数和范围。",
    "dist.head": "| 维度 | 阶段 | n | 中位数 | 四分位数 | 最小–最大 |",
    "dist.chart": "{dim}：各阶段落在每个四分之一等级上的样本对比例",
    "dist.caption": (
        "每一行是一个阶段：{n} 对样本落在 1 到 5 之间每个四分之一等级上的比例（柱高），"
        "中位数用该阶段的符号标出。接近 3 的分数表示两方面的证据都很少。"
    ),
    "dist.axis": "等级（1-5 分）",
    # ---- Table 3c
    "pattern.passive": "被动回应",
    "pattern.directive": "指导过度",
    "unit.window": "滚动窗口",
    "unit.phase": "阶段窗口",
    "link.title": (
        "表 3c. 咨询师的回应模式与低联盟{unit}：出现该模式时窗口为低联盟的优势比 [{level} 置信区间"
        "，"
        "样本对重抽样 {boot} 次]；按样本对分层的 Cochran-Mantel-Haenszel 检验。"
    ),
    "link.head": (
        "| 模式 | 低联盟的定义 | 窗口（样本对） | 有该模式时低联盟 | 无该模式时低联盟 "
        "| 优势比 [置信区间] | CMH χ²(1) | p | 样本对内优势比（MH） |"
    ),
    "link.def.level": "等级 ≤ 2（有反面证据）",
    "link.def.lowest_third": "最低三分之一的窗口（≤ {cut}）",
    "link.def.lowest_third_none": "最低三分之一的窗口（窗口太少）",
    "link.note": (
        "当监测规则在某个窗口中成立时（至少 40% 的咨询师消息被标记，且不少于 2 条），该窗口记为有"
        "此模式。优势比大于 1 表示低联盟窗口在有该模式时更常见；因为同一样本对的窗口并不相互独立，"
        "区间来自对样本对的重抽样（有空格的表每格加 0.5）。检验只比较同一样本对内的窗口，所以样本对"
        "中恒定不变的因素（咨询师、来访者、话题）不会造成这种关联；窗口全部有或全部没有该模式的样本"
        "对"
        "不提供信息。共检验两种模式：若要族错误率 α 为 0.05，请用 p < 0.025。评分器弃权的 {abstaine"
        "d} "
        "个窗口（证据不足或未评分）未计入（其中 {passive} 个有被动回应模式，{directive} 个有指导过"
        "度模式）。"
    ),
    "link.chart": "出现该模式时窗口为低联盟的优势比及其区间",
    "link.axis": "优势比（对数刻度；1 = 无关联）",
    "link.short.level": "等级 ≤ 2",
    "link.short.lowest_third": "最低三分之一",
    "link.no_estimate": "无法估计（没有低联盟窗口，或没有出现该模式的窗口）",
    "link.none": "没有已评分的窗口：无法分析模式与联盟的关联。",
    "link.section": "这些模式是否伴随较低的工作联盟？",
    "ex.section": "这些模式在本数据中的样子",
    "ex.note": (
        "每种模式最多三段对话，每个样本对一段，取自联盟最低的窗口：来访者的话、被标记的咨询师回复、"
        "来访者的回答。因为本次分析使用了 --include-text，所以显示原文；姓名、号码、电子邮件和网址"
        "已"
        "脱敏。只在允许分享对话记录的范围内分享。"
    ),
    "ex.where": "样本对 {cid}，窗口 {window}（整体 {overall}）；标记分数 {score}",
    "ex.none": "没有出现该模式的窗口。",
    # ---- Table 5
    "sess.section": "跨会谈的变化",
    "sess.title": (
        "表 5. 会谈内与会谈之间：各轨迹的比例（数量）。会谈内：每次会谈的后三分之一对比前三分之一，"
        "n = {n_within} 次会谈。会谈之间：样本对的最后一次会谈对比第一次，n = {n} 个有两次及以上会"
        "谈"
        "的样本对。"
    ),
    "sess.head": "| 视角 | 维度 | {cats} | 下降或不变 |",
    "sess.within": "会谈内（后三分之一对比前三分之一）",
    "sess.across": "会谈之间（最后一次对比第一次）",
    "sess.bynum.title": (
        "表 5b. 按会谈次序的工作联盟：在有两次及以上会谈的样本对中，有证据的会谈的均值 "
        "[{level} 置信区间]；每个样本对的最后一次减第一次。"
    ),
    "sess.bynum.col": "第 {k} 次",
    "sess.bynum.last": "第 {k} 次及以后",
    "sess.bynum.change": "最后 − 第一次",
    "sess.bynum.n": "会谈数（无证据的）",
    "sess.note": (
        "样本对的各次会谈按开始时间排序，每次会谈各自按三等分评分。在会谈之间，“下降”与实时事件的"
        "定义相同：最后一次会谈的联盟比第一次至少低 {tol:g} 个等级，并且之后的会谈中能看到下降的原"
        "因"
        "（咨询师未修复的来访者关系破裂，或指导过度），并引用到具体消息；只有等级降低而没有这样的证"
        "据，"
        "记为不变。第一次或最后一次会谈中没有任何窗口有足够证据的样本对，记为证据不足，而不是不变。"
        "{single} 个样本对只有一次会谈，只出现在会谈内的视角中。"
    ),
    "sess.none": (
        "没有样本对有一次以上的会谈：会谈之间的视角需要带有 session_id 的消息（或对话记录）。"
    ),
    "sess.chart": "按会谈次序的整体联盟均值及 {level} 置信区间",
    "sess.axis.x": "样本对中的会谈次序",
    "sess.traj.chart": "各轨迹的样本对比例：会谈内与会谈之间",
    # ---- Table 6
    "fb.section": "给咨询师的反馈：评分与之后的变化",
    "fb.q.understanding": "帮助我理解了工作联盟",
    "fb.q.directions": "让我看到了改进的方向",
    "fb.q.willingness": "我愿意调整自己的做法",
    "fb.kind.passive": "被动回应模式",
    "fb.kind.directive": "指导过度模式",
    "fb.kind.decline": "工作联盟下降",
    "fb.chart": "每个问题的平均评分及其区间，与论文中的均值对照",
    "fb.paper": "{q}：论文中的咨询师评分为 {v}",
    "fb.axis": "评分（1-5）",
    "fb.caption": (
        "实心菱形：本平台咨询师的评分（均值及区间）；空心圆：论文中咨询师对大语言模型反馈的平均评分"
        "（Li 等，2024）。"
    ),
    "fb.none": "反馈闭环需要回放（运行时不要加 --no-replay）。",
    "fb.ratings.title": (
        "表 6. 咨询师对反馈的评分，1-5：均值 [{level} 置信区间]，n = {n} 条评分，与论文中咨询师对"
        "大语言模型反馈的评分对照。"
    ),
    "fb.ratings.head": "| 问题 | n | 均值 [置信区间] | Li 等，2024 |",
    "fb.recovery.title": (
        "表 6b. 反馈之后的变化：样本对接下来两个窗口的均值减去反馈所在窗口，单位为等级 "
        "[{level} 置信区间]：已送达反馈，对照尚未收到任何反馈的样本对中的同类事件；差值 "
        "[样本对重抽样 {boot} 次得到的区间]。"
    ),
    "fb.recovery.head": (
        "| 反馈针对 | 已送达 | 尚无反馈 | 差值 | 无法测量（已送达 / 尚无） | 此前已有反馈但未送达 |"
    ),
    "fb.note": (
        "评分和送达记录用承载反馈的事件 id 来指代反馈，在实时监测和本次回放中相同（使用监测的默认"
        "窗口）。之后不足两个已评分窗口的事件无法测量。这是观察性比较：收到或评价反馈的咨询师可能与"
        "其他咨询师不同。{source}"
    ),
    "fb.source": (
        "评分来自 {name}：使用了本数据中样本对的 {n} 条评分和 {d} 条送达记录，其他样本对的 {other} "
        "条未计入，{refused} 条记录被拒绝。"
    ),
    "fb.source.none": (
        "没有提供评分文件（--ratings）：所有事件都在“无反馈”组中，即没有人给出反馈时，样本对在出现"
        "某种模式之后的走向。"
    ),
    "role.client": "来访者",
    "role.counselor": "咨询师",
    "role.other": "其他",
    "dim.goal": "目标一致",
    "dim.task": "任务一致（方法）",
    "dim.bond": "情感联结",
    "dim.overall": "整体",
    "traj.declined": "下降",
    "traj.unchanged": "不变",
    "traj.improved_lt1": "提升 < 1 个等级",
    "traj.improved_ge1": "提升 ≥ 1 个等级",
    "traj.insufficient_evidence": "证据不足",
    "report.html_lang": "zh-CN",
    "report.title": "工作联盟分析",
    "report.meta.pairs": "{n} 个样本对",
    "report.meta.sessions": "（{n} 次会谈）",
    "report.meta.scorer": " · 评分器 <code>{scorer}</code>",
    "report.meta.phase": " · 阶段分析 {n} 个（排除：{excluded}）",
    "report.none": "无",
    "report.shown.some": "显示最需要关注的 {k} 个样本对（共 {n} 个）。",
    "report.shown.all": "显示全部 {n} 个样本对。",
    "report.nav": "目录",
    "report.nav.phases": "1. 阶段",
    "report.nav.trajectories": "2. 轨迹",
    "report.nav.patterns": "3. 回应模式",
    "report.nav.sessions": "4. 会谈",
    "report.nav.feedback": "5. 反馈",
    "report.nav.pairs": "6. 样本对",
    "report.h.phases": "1. 各阶段的工作联盟",
    "report.h.trajectories": "2. 变化轨迹",
    "report.h.patterns": "3. 咨询师的回应模式与工作联盟",
    "report.h.pairs": "6. 样本对",
    "report.phase.caption": (
        "{n} 个样本对在每个阶段（每份记录的前、中、后三分之一）的均值，采用 1-5 分的证据量表，"
        "附 {level} t 区间。坐标轴已放大：十分之一个等级的差异在这里看起来也很大。"
    ),
    "report.friedman.note": (
        "各阶段是否不同？采用 Friedman 检验（每个样本对在三个阶段都被测量，属于重复测量；评分有上下"
        "限"
        "且多有并列，因此比较每个样本对内部的秩次而非原始均值）。另附经 Greenhouse-Geisser 校正的重"
        "复"
        "测量方差分析作为参数检验的对照。共四个检验：若要族错误率 α 为 0.05，请用 p < 0.0125。"
    ),
    "report.friedman.row": (
        "{dim}：χ²(2) = {chi2}，p {p}，Kendall's W {w}；后期 − 前期 {change} 个等级"
    ),
    "report.traj.caption": (
        "每个样本对的后期减前期；变化小于 {tol:g} 个等级记为不变。本库所依据的研究发现，近一半的样"
        "本对"
        "下降或保持不变，提升一个等级以上的不到 3%。"
    ),
    "report.pat.by_level": "按会谈的联盟等级",
    "report.pat.by_level.chart": "被标记为被动回应或指导过度的咨询师消息比例，按会谈的联盟等级",
    "report.pat.by_third": "按会谈联盟排序后的三等分",
    "report.pat.by_third.chart": (
        "被标记为被动回应或指导过度的咨询师消息比例，按会谈联盟排序后的三等分"
    ),
    "report.pat.caption": (
        "被评为被动回应（只是接住而不探索）或指导过度（未经同意的建议或指令）的咨询师消息比例：上图"
        "按"
        "会谈的整体联盟等级（取 1-5 分中最接近的等级），下图按本数据中会谈联盟排序后的三等分。"
    ),
    "report.no_counselors": "本数据中没有咨询师 id。",
    "report.pairs.note": (
        "{shown}按需要关注的程度排序（安全信号、联盟下降、联盟偏低、咨询师回应模式、最近窗口低于开"
        "始时）。"
        "每条迷你折线是该样本对各滚动窗口的整体联盟（虚线：等级 3）；标签是轨迹，即会谈后三分之一对"
        "比"
        "前三分之一。点击一个样本对可打开详情：各维度的窗口分数、回应模式和下降出现的位置，以及给出"
        "的反馈。"
    ),
    "report.footer": (
        "由软件评分的观察者视角工作联盟（目标、任务、情感联结；1 = 有很强的反面证据，3 = 两方面都没"
        "有"
        "证据，5 = 有很强的正面证据）。这是督导和研究用的筛查工具，不是临床测评工具。"
    ),
    "report.close": "关闭",
    "report.ci": "{level} 置信区间",
    "md.intro.sessions": "对 {pairs} 个样本对的 {sessions} 次会谈做了评分（阶段表按会谈计）",
    "md.intro.pairs": "对 {pairs} 个样本对做了评分",
    "md.intro.scorer": "，使用 `{scorer}` 评分器",
    "md.intro.tables": "；其中 {n} 个三个阶段都有评分、进入阶段表，{n_traj} 个进入轨迹表",
    "md.intro.excluded": "（排除：{excluded}）",
    "md.intro.scale": "。分数采用 1-5 分的证据量表；一个等级即一分。",
    "md.table1.title": "**表 1. 各阶段的工作联盟：均值 [{level} 置信区间]，n = {n} 对。**",
    "md.table1.head": (
        "| 维度 | 前期 | 中期 | 后期 | 后期 − 前期 | Friedman χ²(2) | p | Kendall's W "
        "| 重复测量方差分析 p（GG） |"
    ),
    "md.table1.note": (
        "Friedman 检验：每个样本对在三个阶段都被评分（重复测量），评分有上下限、多有并列且偏态，因"
        "此在"
        "每个样本对内按秩次比较各阶段。共检验四个维度：若要族错误率 α 为 0.05，请用 p < 0.0125。样"
        "本对"
        "很多时，微不足道的变化也会“显著”：请看 Kendall's W 和后期 − 前期的差值（以等级计）来判断大"
        "小。"
    ),
    "md.table2.title": (
        "**表 2. 变化轨迹（后期对比前期），样本对的比例（数量），n = {n}；|变化| < {tol:g} 记为不变"
        "；"
        "前期或后期缺少证据的样本对记为*证据不足*，而不是不变。**"
    ),
    "md.table2.declined": "*下降*的含义：" + DECLINE_DEFINITION_ZH,
    "report.traj.declined": "下降的含义：" + DECLINE_DEFINITION_ZH,
    "md.table2.dim": "维度",
    "md.table2.both": "下降或不变",
    "md.table3.title": (
        "**表 3. 按会谈联盟等级（整体分数四舍五入到最接近的等级）的咨询师回应模式。**"
    ),
    "md.table3.head": (
        "| 联盟等级 | 会谈数 | 咨询师消息数 | 被动回应 | 指导过度 "
        "| 有被动回应模式的会谈 | 有指导过度模式的会谈 |"
    ),
    "md.table3b.title": (
        "**表 3b. 按会谈联盟排序后三等分的咨询师回应模式（相对分组；括号内为整体联盟的范围）。**"
    ),
    "md.table3b.head": (
        "| 联盟三等分 | 会谈数 | 咨询师消息数 | 被动回应 | 指导过度 "
        "| 有被动回应模式的会谈 | 有指导过度模式的会谈 |"
    ),
    "md.table3.note": (
        "被动回应 / 指导过度：被标记（分数 ≥ 0.5）的咨询师消息比例。若至少在一个阶段中被标记的比例"
        "满足"
        "监测的模式规则（占该阶段咨询师消息的 ≥ 40%，且不少于 2 条），该会谈记为有此模式。"
    ),
}


#: Language code -> its table. A translation adds its own (same keys).
TEXT: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}
LANGUAGES: tuple[str, ...] = tuple(TEXT)
#: The item ids' short labels in English (tables and charts use `text("item.G1")`).
ITEM_LABELS: dict[str, str] = {k[5:]: v for k, v in EN.items() if k.startswith("item.")}


_LANGUAGE: ContextVar[str] = ContextVar("alliance_monitor_report_language", default="en")


@contextmanager
def report_language(lang: str) -> Iterator[None]:
    """`text` writes in `lang` (a `LANGUAGES` code) inside this block."""
    token = _LANGUAGE.set(lang)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def corpus_language(languages: Iterable[str | None]) -> str:
    """The report language for a corpus from its transcripts' `detect_language` codes:
    ``"zh"`` when most transcripts are Chinese or mixed Chinese-English, else ``"en"``."""
    codes = [c for c in languages if c is not None]
    chinese = sum(c in ("zh", "mixed") for c in codes)
    return "zh" if codes and chinese * 2 > len(codes) else "en"


def text(key: str, lang: str | None = None, **fields: object) -> str:
    """The text of `key` in `lang` (default: the report's, `report_language`; English where the
    translation lacks it), fields filled."""
    template = TEXT.get(lang or _LANGUAGE.get(), EN).get(key) or EN[key]
    return template.format(**fields) if fields else template


class Labels(Mapping[str, str]):
    """Display labels of fixed keys (dimensions, trajectory categories) in the report's
    language: ``labels[key]`` is ``text(prefix + key)``."""

    def __init__(self, prefix: str, keys: Iterable[str]) -> None:
        self._prefix = prefix
        self._keys = tuple(keys)

    def __getitem__(self, key: str) -> str:
        if key not in self._keys:
            raise KeyError(key)
        return text(self._prefix + key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
