"""Regenerate the `analyze` output pin: `analyze_pin_output.jsonl.gz` is what
`alliance-monitor analyze` writes for `annomi.jsonl.gz` followed by `analyze_pin_input.jsonl.gz`,
byte for byte. `tests/test_analyze_pin.py` checks that the scorer still writes exactly that, so a
change made for speed (or any other reason) cannot move a single figure unnoticed.

Regenerate the output ONLY when a change of scoring is intended, in the commit that makes it,
and say so in its message:

    .venv/bin/python tests/data/make_analyze_pin.py

`--inputs` also rebuilds `analyze_pin_input.jsonl.gz` (seeded, reproducible; needs the dev
dependency `opencc` for the Traditional copies). Its conversations are all ours to ship: the
bundled demo and sample pairs, the written rupture and evaluation fixtures, and conversations
assembled from the written training lines (`training/`) and the written safety sets, in English,
Simplified and Traditional Chinese and mixed, of many shapes (two exchanges, few long turns, long
runs, bot notices, out-of-order and duplicate messages, other languages, emoji, a text past the
scoring limit). Assembled at random they are not natural conversations; they are there to walk
every path of the scorer.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ANNOMI = HERE / "annomi.jsonl.gz"
INPUT = HERE / "analyze_pin_input.jsonl.gz"
OUTPUT = HERE / "analyze_pin_output.jsonl.gz"
SOURCES = (
    ROOT / "alliance_monitor" / "demo_data" / "demo.jsonl",
    ROOT / "alliance_monitor" / "demo_data" / "sample.jsonl",
    HERE / "rupture_sessions.jsonl",
    HERE / "evaluate_mi.jsonl",
)


def pin_input_lines() -> list[str]:
    """The lines `analyze` reads for the pin: AnnoMI, then the pin's own input."""
    with gzip.open(ANNOMI, "rt", encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    with gzip.open(INPUT, "rt", encoding="utf-8") as f:
        lines += [line for line in f.read().splitlines() if line.strip()]
    return lines


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _written(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "\t" in line:
            out.append(line.split("\t", 1)[1])
    return out


def _lines() -> dict[str, list[str]]:
    """Counselor and client lines by language, from what we wrote."""
    convs = [c for p in SOURCES for c in _jsonl(p)]
    pools: dict[str, list[str]] = {"en_co": [], "en_cl": [], "zh_co": [], "zh_cl": []}
    for c in convs:
        zh = c["conversation_id"].startswith("zh") or c["conversation_id"].endswith("-zh")
        for m in c["messages"]:
            side = "co" if m["role"] == "counselor" else "cl"
            pools[f"{'zh' if zh else 'en'}_{side}"].append(m["text"])
    pools["en_co"] += _written(ROOT / "training" / "written_counselor.txt")
    pools["zh_co"] += _written(ROOT / "training" / "written_counselor_zh.txt")
    pools["en_cl"] += [d["text"] for d in _jsonl(HERE / "safety_en.jsonl")]
    pools["zh_cl"] += [d["text"] for d in _jsonl(HERE / "safety_zh.jsonl")]
    return pools


def _conversation(
    rng: random.Random, cid: str, co: list[str], cl: list[str], n: int, *, long_turns: bool = False
) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = []
    role = rng.choice(("counselor", "client"))
    for i in range(n):
        pool = co if role == "counselor" else cl
        k = rng.randint(3, 7) if long_turns else 1
        sep = "" if pool and any("\u4e00" <= ch <= "\u9fff" for ch in pool[0]) else " "
        text = sep.join(rng.choice(pool) for _ in range(k))
        msgs.append({"id": f"{cid}:{i}", "role": role, "text": text, "ts": float(i)})
        # mostly alternate; sometimes the same side writes twice (typed in pieces)
        if rng.random() < 0.8:
            role = "client" if role == "counselor" else "counselor"
    return {"conversation_id": cid, "messages": msgs}


def _traditional(convs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import opencc  # dev dependency

    conv = opencc.OpenCC("s2twp")
    out = []
    for c in convs:
        msgs = [{**m, "text": conv.convert(m["text"])} for m in c["messages"]]
        out.append({"conversation_id": c["conversation_id"] + "-tw", "messages": msgs})
    return out


def _edges() -> list[dict[str, Any]]:
    """Shapes and inputs every scorer path must take the same way."""

    def conv(cid: str, msgs: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
        return {
            "conversation_id": cid,
            "messages": [
                {"id": f"{cid}:{i}", "role": r, "text": t, "ts": float(i)}
                for i, (r, t) in enumerate(msgs)
            ],
            **extra,
        }

    co, cl = "counselor", "client"
    out = [
        conv("edge-empty", []),
        conv("edge-one", [(cl, "hi, is anyone there?")]),
        conv("edge-two", [(co, "Hello, what brings you here?"), (cl, "I can't sleep.")]),
        conv(
            "edge-two-exchanges",
            [
                (co, "What would you like to talk about today? Take your time."),
                (cl, "My mother died last month and I feel completely lost without her."),
                (co, "It sounds like losing her has left a huge empty space in your life."),
                (cl, "Yes. Exactly that. I keep reaching for the phone to call her."),
            ],
        ),
        conv(
            "edge-other-role",
            [
                ("other", "The counselor has joined the chat."),
                (co, "Hi, I'm here. What's going on?"),
                (cl, "I had a fight with my partner and I feel awful."),
                ("other", "Connection restored."),
                (co, "You should just apologise."),
                (cl, "No, that's not it at all."),
                (co, "Why don't you try calling them?"),
                (cl, "I said no."),
            ],
        ),
        conv(
            "edge-spanish",
            [
                (co, "Hola, ¿en qué te puedo ayudar hoy?"),
                (cl, "Me siento muy triste y no sé qué hacer con mi vida."),
                (co, "Parece que estás pasando por un momento muy difícil."),
                (cl, "Sí, mucho."),
            ],
        ),
        conv(
            "edge-russian",
            [
                (co, "Здравствуйте, что вас беспокоит?"),
                (cl, "Мне очень плохо, я не сплю уже неделю."),
                (co, "Расскажите подробнее."),
                (cl, "Не хочу."),
            ],
        ),
        conv(
            "edge-emoji",
            [(co, "👋"), (cl, "😢😢"), (co, "🙂?"), (cl, "ok"), (co, "mm"), (cl, "…")],
        ),
        conv(
            "edge-long-text",
            [
                (co, "Tell me more about what happened. " * 3),
                (cl, ("I just feel like nothing I do matters and everyone is tired of me. " * 200)),
                (co, "That sounds exhausting. What keeps you going?"),
                (cl, "Honestly not much."),
            ],
        ),
        conv(
            "edge-fullwidth",
            [
                (co, "ｈｅｌｌｏ！Ｗｈａｔ＇ｓ　ｏｎ　ｙｏｕｒ　ｍｉｎｄ？"),
                (cl, "I’m “fine”, I guess… it’s just work."),
                (co, "You’re feeling worn down by work?"),
                (cl, "Yeah — totally."),
            ],
        ),
    ]
    # out of order by ts, with seq on some, and a duplicate id
    shuffled = conv(
        "edge-order",
        [
            (co, "Hi, what's going on?"),
            (cl, "I keep arguing with my dad about college."),
            (co, "It sounds like you two want different things for you."),
            (cl, "He wants me to be a doctor. I want to study music."),
            (co, "You have to listen to your father."),
            (cl, "That's not helpful."),
            (co, "I hear you. What matters most to you here?"),
            (cl, "Being allowed to choose."),
        ],
    )
    msgs = shuffled["messages"]
    msgs[2], msgs[5] = msgs[5], msgs[2]
    for i, m in enumerate(msgs):
        m["seq"] = i * 2 if i % 3 else None
        if m["seq"] is None:
            del m["seq"]
    msgs.append(dict(msgs[1]))  # a retry: same id
    out.append(shuffled)
    return out


def build_inputs() -> list[dict[str, Any]]:
    rng = random.Random(23)
    pools = _lines()
    convs: list[dict[str, Any]] = [c for p in SOURCES for c in _jsonl(p)]
    shapes = [2, 3, 4, 5, 6, 8, 10, 12, 14, 18, 24, 30, 40, 60]
    en = [
        _conversation(rng, f"syn-en-{i}", pools["en_co"], pools["en_cl"], rng.choice(shapes))
        for i in range(60)
    ]
    en += [
        _conversation(
            rng,
            f"syn-en-long-{i}",
            pools["en_co"],
            pools["en_cl"],
            rng.choice((4, 6, 8, 10)),
            long_turns=True,
        )
        for i in range(10)
    ]
    zh = [
        _conversation(rng, f"syn-zh-{i}", pools["zh_co"], pools["zh_cl"], rng.choice(shapes))
        for i in range(60)
    ]
    zh += [
        _conversation(
            rng,
            f"syn-zh-long-{i}",
            pools["zh_co"],
            pools["zh_cl"],
            rng.choice((4, 6, 8, 10, 12)),
            long_turns=True,
        )
        for i in range(20)
    ]
    mixed_co = pools["zh_co"] + pools["en_co"][:60]
    mixed_cl = pools["zh_cl"] + pools["en_cl"][:60]
    mixed = [
        _conversation(rng, f"syn-mixed-{i}", mixed_co, mixed_cl, rng.choice(shapes[3:]))
        for i in range(15)
    ]
    return convs + en + zh + _traditional(zh[::2]) + mixed + _edges()


def analyze(lines: list[str], *extra: str) -> bytes:
    """`alliance-monitor analyze` over `lines` (in a fresh process), its output bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "alliance_monitor.cli", "analyze", str(src), "-o", str(dst)]
        subprocess.run([*cmd, *extra], check=True, capture_output=True)
        return dst.read_bytes()


def _write_gz(path: Path, data: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:  # the same bytes every time
        f.write(data)
    path.write_bytes(buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", action="store_true", help="also rebuild the pin's input")
    args = ap.parse_args()
    if args.inputs:
        text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in build_inputs())
        _write_gz(INPUT, text.encode("utf-8"))
    out = analyze(pin_input_lines())
    _write_gz(OUTPUT, out)
    print(f"{OUTPUT.name}: {out.count(10)} records, {len(out):,} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
