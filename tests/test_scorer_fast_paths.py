"""The embedded scorer's faster ways of doing what it did before (issue 23 item 1) give the same
values: records built without `model_construct`'s walk over the fields, the evidence table read
from precomputed rows, the softmax rows gathered with `filter`. The analyze pin
(tests/test_analyze_pin.py) checks the whole output byte for byte; these check the parts."""

from __future__ import annotations

import math
import re

from alliance_monitor._models import (
    DIMENSIONS,
    DimensionScores,
    MessagePattern,
    WindowSignals,
    _trusted,
)
from alliance_monitor.scoring import _lexicon as lx
from alliance_monitor.scoring._embedded import _CITE, _DIMENSION_OF, _EVIDENCE_ROWS, _Tally
from alliance_monitor.scoring._model import Head, load_model


def test_trusted_builds_what_model_construct_builds() -> None:
    fast = MessagePattern.trusted("m1", 0.25, 0.5, ("minimal", "reassure"))
    slow = MessagePattern.model_construct(
        id="m1", passive=0.25, directive=0.5, cues=("minimal", "reassure")
    )
    assert fast == slow
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    assert list(fast.__dict__) == list(slow.__dict__) == list(MessagePattern.model_fields)
    values = {"goal": 3.5, "task": 2.25, "bond": 4.0, "overall": 3.25}
    assert _trusted(DimensionScores, dict(values)) == DimensionScores.model_construct(**values)
    assert DimensionScores.model_fields.keys() == values.keys()
    assert tuple(DimensionScores.model_fields) == DIMENSIONS  # weighted_mean's order
    mean = DimensionScores.weighted_mean([(fast_d := _trusted(DimensionScores, values), 1.0)])
    assert list(mean.__dict__) == list(DimensionScores.model_fields)
    assert mean.model_fields_set == DimensionScores.model_construct(**values).model_fields_set
    assert mean == fast_d
    assert DimensionScores.neutral() == DimensionScores.model_construct(
        goal=3.0, task=3.0, bond=3.0, overall=3.0
    )


def test_window_signals_built_as_model_construct_builds_them() -> None:
    """The rupture reader's `result` (one per window) gives what `model_construct` gave."""
    from alliance_monitor.scoring._rupture import SignalReader

    reader = SignalReader()
    reader.client("c1", "i feel so alone since the move", {"disclosure": None}, 7)
    reader.counselor("s1", "that sounds really hard", {}, 0.1, False)
    reader.client("c2", "whatever", {"withdrawal": None}, 1)
    fast = reader.result()
    slow = WindowSignals.model_construct(**fast.__dict__)
    assert fast == slow
    assert list(fast.__dict__) == list(slow.__dict__) == list(WindowSignals.model_fields)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()


def test_trusted_models_have_nothing_model_construct_would_add() -> None:
    """`_trusted` is only valid for models without aliases, private attributes or post-init."""
    for cls in (MessagePattern, DimensionScores, WindowSignals):
        assert not cls.__private_attributes__
        assert not cls.__pydantic_post_init__
        assert all(
            f.alias is None and f.validation_alias is None for f in cls.model_fields.values()
        )
        assert cls.model_config.get("extra") != "allow"


def _add_as_before(self: _Tally, msg_id: str, cue: str, scale: float = 1.0) -> None:
    """`_Tally.add` as it was written before the precomputed rows."""
    items = lx.EVIDENCE[cue]
    if not items:
        return
    moved: dict[str, float] = {}
    net, ids, dimension_of = self.net, self.ids, _DIMENSION_OF
    absolute = self.absolute
    for construct, points in items.items():
        points *= scale
        net[construct] += points
        size = abs(points)
        absolute += size
        dim = dimension_of[construct]
        moved[dim] = moved.get(dim, 0.0) + size
        if size >= _CITE:
            ids[construct][msg_id] = None
    by_message = self.by_message
    if by_message is not None:
        row = by_message.setdefault(msg_id, [0.0, 0.0])
        row[1] += absolute - self.absolute
    self.absolute = absolute
    dim_absolute, counts, cited = self.dim_absolute, self.counts, False
    for dim, amount in moved.items():
        dim_absolute[dim] += amount
        if amount >= _CITE:
            counts[dim] += 1
            cited = True
    if cited:
        self.pieces += 1
        if by_message is not None:
            by_message[msg_id][0] += 1


def test_evidence_rows_are_the_table() -> None:
    assert set(_EVIDENCE_ROWS) == set(lx.EVIDENCE)
    for cue, items in lx.EVIDENCE.items():
        assert [(c, p) for c, p, _, _ in _EVIDENCE_ROWS[cue]] == list(items.items())
        assert all(
            size == abs(p) and _DIMENSION_OF[c] == d for c, p, size, d in _EVIDENCE_ROWS[cue]
        )


def test_tally_sums_are_those_of_the_table() -> None:
    """The same net points, absolute total and cited ids, bit for bit, at scale 1 and others."""
    fast, slow = _Tally(per_message=True), _Tally(per_message=True)
    for i, cue in enumerate(sorted(lx.EVIDENCE) * 3):
        scale = (1.0, 0.37, 0.8125, 1.0, 0.049)[i % 5]
        fast.add(f"m{i % 7}", cue, scale)
        _add_as_before(slow, f"m{i % 7}", cue, scale)
    for slot in _Tally.__slots__:
        assert getattr(fast, slot) == getattr(slow, slot), slot
    assert {c: list(v) for c, v in fast.ids.items()} == {c: list(v) for c, v in slow.ids.items()}
    assert fast.pieces > 0


def test_proba_gathers_the_rows_it_did() -> None:
    head = load_model().counselor
    feats = ["how", "are", "you", "how are", "^how", "$you", "len2", "echo0", "nope", "how"]
    get = head.weights.get
    rows = [w for w in map(get, feats) if w is not None]
    z = [sum(col) for col in zip(head.bias, *rows, strict=True)]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    want = {c: v / sum(e) for c, v in zip(head.classes, e, strict=True)}
    assert head.proba(feats) == want
    bare = Head(("a", "b"), (0.5, -0.5), {})
    assert bare.proba(["x"]) == bare.proba([])


def test_constructed_builds_what_model_construct_builds() -> None:
    """Window scores as the scorer builds them: given fields, defaults (shared and from a
    factory) and private attributes as `model_construct` leaves them."""
    from alliance_monitor._models import WindowScore, constructed

    cases = [
        {"conversation_id": "c", "window_index": 0},
        {
            "conversation_id": "c",
            "window_index": 2,
            "status": "insufficient_evidence",
            "constructs": {"G1": 3.0},
            "scores": DimensionScores.neutral(),
            "evidence": ("m1",),
            "messages": (MessagePattern.trusted("m1", 0.1, 0.2, ()),),
            "merged_from": (1, 2),
        },
    ]
    for values in cases:
        fast = constructed(WindowScore, dict(values))
        slow = WindowScore.model_construct(**values)
        assert fast == slow
        assert list(fast.__dict__) == list(slow.__dict__)
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.__pydantic_private__ == slow.__pydantic_private__
        assert fast.__pydantic_extra__ == slow.__pydantic_extra__
        assert fast.json_text() == slow.model_dump_json()
        assert fast.dimension_confidence == {} and fast.dimension_confidence is not (
            constructed(WindowScore, dict(values)).dimension_confidence
        )
    assert WindowScore.__pydantic_post_init__ == "model_post_init"  # pydantic's own private init
    assert all(f.alias is None for f in WindowScore.model_fields.values())


def _spelled_out(matcher: lx.CueMatcher) -> tuple[re.Pattern[str], tuple[str | None, ...]]:
    """The clause expression as it was before the word-list tail: every phrase in the trie."""
    trie: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for cue in matcher._cues:
        for phrase in (e for p in cue.phrases for e in lx._expand(p)):
            head = lx._FIRST_WORD.match(phrase)
            assert head is not None
            word, rest = head.group(), phrase[head.end() :]
            if rest[:1] in ("?", "*", "+", "{", "["):
                word, rest = word[:-1], word[-1] + rest
            trie.setdefault(word[0], {}).setdefault(word, []).append((rest, cue.name))
    names: list[str | None] = [None]
    branches = []
    for first, by_word in trie.items():
        words = []
        for word, rests in by_word.items():
            alts = []
            for rest, name in rests:
                alts.append(f"{rest}(?![\\w'])()")
                names.append(name)
            words.append(f"{re.escape(word[1:])}(?:{'|'.join(alts)})")
        branches.append(f"{re.escape(first)}(?:{'|'.join(words)})")
    return re.compile(f"{lx._CLAUSE_START}(?:{'|'.join(branches)})"), tuple(names)


def test_word_list_tail_matches_as_the_spelled_out_phrases() -> None:
    """The imperative's words, written once at the end of the clause expression, match where
    and as the 62 spelled-out phrases did: after a comma or not, before the words that make
    them no command, and where an earlier cue starts with the same word ("do", "tell")."""
    matcher = lx.COUNSELOR_CLAUSE_MATCHER
    fast = matcher.compile()
    slow, slow_names = _spelled_out(matcher)
    assert len(fast.pattern) < len(slow.pattern) / 2  # what it is for: less to parse
    imperative = next(c for c in lx.COUNSELOR_CLAUSE if c.name == "imperative")
    words = [p.split("(")[0] for p in imperative.phrases] + ["do", "tell", "so", "what", "you"]
    leads = ["", "okay, ", "um, so ", "i see, ", "well. ", "fine - ", "and then ", "x,"]
    tails = [
        " less.",
        " you.",
        " me more.",
        " it up.",
        " care.",
        " now?",
        "s a lot.",
        "",
        " it, ok?",
    ]
    texts = [lead + w + tail for lead in leads for w in words for tail in tails]
    texts += ["stop. start! try? do you? tell me. don't, go on.", "be well. be honest, ok?"]
    seen: set[str | None] = set()
    for text in texts:
        lead = ". " + text
        got = [(m.span(), matcher._names[m.lastindex or 0]) for m in fast.finditer(lead)]
        want = [(m.span(), slow_names[m.lastindex or 0]) for m in slow.finditer(lead)]
        assert got == want, text
        seen.update(name for _, name in got)
    assert {"imperative", "closed_question", "open_question", "restatement"} <= seen
