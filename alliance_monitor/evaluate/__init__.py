"""`evaluate`: how well a scorer agrees with labels a deployment (or a public data set) has.

    from alliance_monitor.evaluate import evaluate_file, LabelOptions
    report = evaluate_file("rated.jsonl", scorer=EmbeddedScorer())
    print(report.to_json())

Command line: ``alliance-monitor evaluate rated.jsonl [--scorer llm ...]``; the workflow is in
docs/evaluate.md.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._agreement import Interval, auc, icc2_1, icc2_k, pearson, spearman
    from ._compare import Comparison, Variant, compare_file, format_comparison
    from ._evaluate import (
        EvaluationError,
        EvaluationReport,
        MetricResult,
        RaterAgreement,
        TaskResult,
        evaluate_file,
    )
    from ._labels import KNOWN, LabelOptions, LabelTask
    from ._report import format_table

#: Where each public name lives. Imported on first use (PEP 562): the CLI registers the
#: `evaluate` command without loading the evaluation code.
_LAZY: dict[str, str | tuple[str, str]] = {
    "Interval": "._agreement",
    "auc": "._agreement",
    "icc2_1": "._agreement",
    "icc2_k": "._agreement",
    "Comparison": "._compare",
    "Variant": "._compare",
    "compare_file": "._compare",
    "format_comparison": "._compare",
    "RaterAgreement": "._evaluate",
    "pearson": "._agreement",
    "spearman": "._agreement",
    "EvaluationError": "._evaluate",
    "EvaluationReport": "._evaluate",
    "MetricResult": "._evaluate",
    "TaskResult": "._evaluate",
    "evaluate_file": "._evaluate",
    "KNOWN": "._labels",
    "LabelOptions": "._labels",
    "LabelTask": "._labels",
    "format_table": "._report",
}


__getattr__, __dir__ = _lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "KNOWN",
    "Comparison",
    "EvaluationError",
    "EvaluationReport",
    "Interval",
    "LabelOptions",
    "LabelTask",
    "MetricResult",
    "RaterAgreement",
    "TaskResult",
    "Variant",
    "auc",
    "compare_file",
    "evaluate_file",
    "format_comparison",
    "format_table",
    "icc2_1",
    "icc2_k",
    "pearson",
    "spearman",
]
