"""The study report in Chinese for a Chinese corpus (issue 24 item 6): detected from the corpus
or chosen with --lang; English stays English."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from alliance_monitor.cli import main
from alliance_monitor.study._strings import EN, ZH, corpus_language, text

HAN = re.compile(r"[\u4e00-\u9fff]")


def _corpus(tmp_path: Path, pair: str) -> Path:
    data = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl").read_text()
    path = tmp_path / f"{pair}.jsonl"
    path.write_text("".join(ln + "\n" for ln in data.splitlines() if f'"{pair}"' in ln))
    return path


def _study(tmp_path: Path, corpus: Path, *extra: str) -> tuple[dict[str, object], str, str]:
    out = tmp_path / ("out" + "".join(extra).replace("-", ""))
    assert main(["study", str(corpus), "--out", str(out), "--no-replay", *extra]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary, (out / "summary.md").read_text(), (out / "report.html").read_text()


def test_chinese_corpus_gets_a_chinese_report(tmp_path: Path) -> None:
    summary, md, html = _study(tmp_path, _corpus(tmp_path, "demo-zh"))
    assert summary["study"]["language"] == "zh"  # type: ignore[index]
    assert '<html lang="zh-CN">' in html
    for key in ("report.title", "report.h.phases", "report.h.patterns", "report.footer"):
        assert text(key, "zh") in html
    assert "Alliance by phase" not in html and "Observer-rated alliance" not in html
    assert md.startswith("# 工作联盟分析")
    assert "**表 1. 各阶段的工作联盟" in md and "| 目标一致 |" in md


def test_lang_option_overrides_detection(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, "demo-zh")
    summary, md, html = _study(tmp_path, corpus, "--lang", "en")
    assert summary["study"]["language"] == "en"  # type: ignore[index]
    assert md.startswith("# Alliance study") and "1. Alliance by phase" in html
    summary, md, _ = _study(tmp_path, _corpus(tmp_path, "demo-holding"), "--lang", "zh")
    assert summary["study"]["language"] == "zh"  # type: ignore[index]
    assert HAN.search(md)


def test_english_corpus_stays_english(tmp_path: Path) -> None:
    summary, md, html = _study(tmp_path, _corpus(tmp_path, "demo-passive"))
    assert summary["study"]["language"] == "en"  # type: ignore[index]
    assert '<html lang="en">' in html and not HAN.search(md)


def test_every_report_string_has_its_chinese() -> None:
    assert EN.keys() == ZH.keys()
    for key, value in EN.items():
        fields = set(re.findall(r"\{(\w+)", value))
        assert set(re.findall(r"\{(\w+)", ZH[key])) == fields, key
    assert corpus_language(["zh", "zh", "en"]) == "zh"
    assert corpus_language(["mixed", "en", "en"]) == "en"
    assert corpus_language([]) == "en"
