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


#: Public names: the imports of the TYPE_CHECKING block above (the one list of them),
#: imported on first use (PEP 562); `__all__` lists them.
__getattr__, __dir__ = _lazy_exports(__name__, globals())
