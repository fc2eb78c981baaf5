"""An external scorer for the `evaluate` tests: `python evaluate_oracle.py LABELLED IN OUT [MODE]`.

It follows `analyze`'s contract (read transcripts from IN, write one result line per
conversation to OUT) but answers with the labels it reads from LABELLED, so its agreement with
them is perfect by construction. It refuses input that still carries labels: `evaluate` must show
a scorer bare transcripts only. MODE "drop-one" leaves the first conversation out; "fail" exits 3.
"""

import json
import sys

GENERIC = {"others", "affirmation and reassurance"}


def main() -> int:
    labelled, src, dst = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    if mode == "fail":
        return 3
    with open(labelled, encoding="utf-8") as f:
        truth = {c["conversation_id"]: c for c in map(json.loads, f)}
    with open(src, encoding="utf-8") as f:
        convs = [json.loads(line) for line in f if line.strip()]
    if mode == "drop-one":
        convs = convs[1:]
    with open(dst, "w", encoding="utf-8") as out:
        for c in convs:
            if "labels" in c or any("labels" in m for m in c["messages"]):
                print("labels reached the scorer", file=sys.stderr)
                return 4
            t = truth[c["conversation_id"]]
            bond = float(t["labels"]["bond"])
            labels = {m["id"]: m["labels"] for m in t["messages"]}
            four = lambda v: {d: v for d in ("goal", "task", "bond", "overall")}  # noqa: E731
            out.write(
                json.dumps(
                    {
                        "conversation_id": c["conversation_id"],
                        "alliance": four(bond),
                        "phases": {
                            p: four(float(v["bond"])) for p, v in t["labels"]["phases"].items()
                        },
                        "messages": [
                            {
                                "id": m["id"],
                                "passive": 1.0
                                if labels[m["id"]]["strategy"].lower() in GENERIC
                                else 0.0,
                                "directive": 1.0 if labels[m["id"]]["directive"] else 0.0,
                            }
                            for m in c["messages"]
                            if m["role"] == "counselor"
                        ],
                    }
                )
                + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
