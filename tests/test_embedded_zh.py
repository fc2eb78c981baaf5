"""The embedded scorer on Chinese and mixed Chinese-English counseling chat (examples written by us)."""

from __future__ import annotations

import pytest

from alliance_monitor import Role, ScoringMessage, WindowRequest, WindowScore, detect_language
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.scoring import _lexicon as lx
from alliance_monitor.scoring import _lexicon_zh as zh

scorer = EmbeddedScorer()


def _msgs(*turns: tuple[str, str]) -> tuple[ScoringMessage, ...]:
    return tuple(
        ScoringMessage(f"m{i}", Role.COUNSELOR if who == "c" else Role.CLIENT, text, float(i))
        for i, (who, text) in enumerate(turns)
    )


def _score(*turns: tuple[str, str]) -> WindowScore:
    msgs = _msgs(*turns)
    return scorer.score_sync(WindowRequest("conv", 0, msgs, len(msgs) // 2))


def _last(*turns: tuple[str, str]) -> tuple[float, float, tuple[str, ...]]:
    p = scorer.message_patterns(_msgs(*turns))[-1]
    return p.passive, p.directive, p.cues


DISCLOSURE = ("k", "我男朋友上个月跟我分手了，我觉得自己很失败，每天晚上都睡不着。")

WARM = (
    DISCLOSURE,
    ("c", "听起来这次分手对你打击很大，你也在责怪自己。这一周你是怎么过来的？"),
    ("k", "没错，就是这样。我每天都在哭，工作也做不下去，但是我想让自己好起来，不想一直这样下去。"),
    ("c", "你希望自己能好起来。对你来说，好起来会是什么样子？"),
    ("k", "我想能正常睡觉，周末可以和朋友出去走走，不再一直想着他。"),
    (
        "c",
        "你能说出这些，真的很不容易。如果你愿意的话，我可以分享一些别人试过的方法，你看哪些适合你。",
    ),
    ("k", "好的，我想听听。"),
    ("c", "有的人会在睡前写日记，把想法写下来。你觉得怎么样？"),
    ("k", "我会试试今晚写一写。谢谢你，和你聊完我好多了。"),
)

DIRECTIVE = (
    DISCLOSURE,
    ("c", "你应该马上忘掉他，别想太多。"),
    ("k", "可是我做不到，我真的很难过。"),
    ("c", "你必须振作起来。我建议你每天去跑步，否则你会越来越糟。"),
    ("k", "你根本不懂我。"),
    ("c", "你想多了，相信我，听我的就对了。"),
    ("k", "随便吧。"),
    ("c", "嗯。对了，你工作怎么样？"),
    ("k", "不知道。"),
)


def test_language_is_on_the_window_score() -> None:
    assert _score(*WARM).language == "zh"
    assert _score(("k", "I can't sleep"), ("c", "What keeps you awake?")).language == "en"
    mixed = _score(("k", "最近 deadline 太多了, 压力好大"), ("c", "It sounds like 工作让你很累?"))
    assert mixed.language == "mixed"
    assert detect_language("我最近总是睡不着") == "zh"


def test_warm_exploring_chinese_scores_above_directive_dismissive() -> None:
    warm, cold = _score(*WARM), _score(*DIRECTIVE)
    assert warm.scores is not None and cold.scores is not None
    assert warm.scores.overall > 3.3 > 3.0 > cold.scores.overall
    for dim in ("goal", "task", "bond"):
        assert warm.scores.get(dim) > cold.scores.get(dim)
    assert warm.confidence > 0.3 and cold.confidence > 0.3
    warm_dir = max(p.directive for p in warm.messages)
    cold_dir = max(p.directive for p in cold.messages)
    assert warm_dir < 0.5 <= cold_dir


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("你觉得是什么让你这么难受？", "open_question"),
        ("能多说说那天发生了什么吗？", "invite"),
        ("听起来你对这件事很失望。", "reflection"),
        ("听起来好像你并不确定自己想要什么。", "reflection"),
        ("你的意思是，你不想再回去了。", "reflection"),
        ("这一定很不容易。", "empathy"),
        ("你做得很好，迈出了很重要的一步。", "affirmation"),
        ("如果你愿意的话，我可以分享一些想法。", "permission"),
        ("这个决定由你自己决定。", "autonomy"),
        ("你应该早点睡觉。", "advise"),
        ("你必须跟他说清楚。", "advise"),
        ("我建议你去看医生。", "advise"),
        ("你要多出去走走。", "advise"),
        ("相信我，这样做没错。", "persuade"),
        ("否则你会后悔的。", "warn"),
        ("别想太多，没什么大不了的。", "reassure"),
        ("对了，换个话题吧。", "subject_change"),
        ("你可以试试深呼吸。", "suggest"),
        ("别再想他了。", "imperative"),
        ("你错了。", "confront"),
        ("加油，祝你一切顺利。", "pleasantry"),
        ("真的啊！", "minimal"),
    ],
)
def test_counselor_cues(text: str, cue: str) -> None:
    _, _, cues = _last(("k", "我最近压力很大。"), ("c", text))
    assert cue in cues


@pytest.mark.parametrize(
    ("prev", "text", "cue"),
    [
        ("听起来你很累。", "对，就是这样，我真的撑不住了。", "confirms_reflection"),
        ("你应该换个工作。", "不行，那样没用的。", "resists_advice"),
        ("你想聊聊什么？", "随便。", "withdrawal"),
        ("你想聊聊什么？", "我该怎么办？", "asks_advice"),
        ("你想聊聊什么？", "谢谢你听我说这些。", "gratitude"),
        ("你想聊聊什么？", "你根本不懂我。", "discord"),
        ("你想聊聊什么？", "我真的很难过。", "disclosure"),
    ],
)
def test_client_cues(prev: str, text: str, cue: str) -> None:
    msgs = _msgs(("k", "我最近压力很大。"), ("c", prev), ("k", text))
    s = scorer.score_sync(WindowRequest("c", 0, msgs, 1))
    assert any("m2" in ids for c, ids in s.construct_evidence.items()), cue
    from alliance_monitor.scoring._embedded import _analyse

    seen: list[str] = []

    class _T:
        def add(self, msg_id: str, c: str, scale: float = 1.0) -> None:
            if msg_id == "m2":
                seen.append(c)

    _analyse(msgs, _T())  # type: ignore[arg-type]
    assert cue in seen


def test_passive_and_directive_per_message() -> None:
    minimal = _last(DISCLOSURE, ("c", "嗯。"))
    generic = _last(DISCLOSURE, ("c", "别担心，一切都会好起来的。"))
    exploring = _last(DISCLOSURE, ("c", "听起来你很自责。能多说说吗？"))
    advice = _last(DISCLOSURE, ("c", "你应该马上去找他谈清楚。"))
    offered = _last(("k", "我该怎么办？"), ("c", "如果你愿意，可以试试先给他写封信，你觉得呢？"))
    assert minimal[0] >= 0.5 and generic[0] >= 0.5
    assert exploring[0] < 0.1 and exploring[1] < 0.1
    assert advice[1] >= 0.5 > offered[1]
    assert offered[0] < 0.5


def test_mixed_chinese_english_messages_read_both() -> None:
    _, d1, cues1 = _last(("k", "最近 deadline 太多了"), ("c", "你应该 take a break, 别 overthink."))
    assert "advise" in cues1 and d1 >= 0.5
    _, _, cues2 = _last(("k", "I feel so 累"), ("c", "It sounds like 你真的很辛苦. 能多说说吗?"))
    assert "reflection" in cues2 and "invite" in cues2


def test_length_rules_count_chinese_characters() -> None:
    assert zh.word_units("I see") == 2
    assert zh.word_units("我最近总是睡不着") == 5
    assert zh.word_units("最近 deadline 太多") == 3
    long_reply = (
        "我其实一直都很害怕，从小到大我爸爸都对我很严厉，做错一点事情就会骂我，现在工作上也是这样。"
    )
    msgs = _msgs(("k", "嗯"), ("c", "能多说说吗？"), ("k", long_reply))
    from alliance_monitor.scoring._embedded import _analyse

    seen: list[str] = []

    class _T:
        def add(self, msg_id: str, c: str, scale: float = 1.0) -> None:
            seen.append(c)

    _analyse(msgs, _T())  # type: ignore[arg-type]
    assert "elaboration" in seen
    seen.clear()
    _analyse(_msgs(("k", "嗯"), ("c", "能多说说吗？"), ("k", "还好")), _T())  # type: ignore[arg-type]
    assert "short_reply" in seen


def test_full_width_punctuation_counts_as_a_question() -> None:
    # NFKC folds ？ into ?: the open-question cue sees it; the "telling" lean does not apply.
    p, d, cues = _last(
        DISCLOSURE, ("c", "那段时间你每天晚上都在想些什么，又是怎么一个人撑过来的？")
    )
    assert "open_question" in cues and p < 0.1 and d < 0.1
    assert lx.normalize("？") == "?"


def test_english_text_never_runs_the_chinese_scan() -> None:
    assert not zh.has_han("It sounds like you're exhausted.")
    assert zh.has_han("It sounds like 你很累")


def test_analyze_output_names_the_language(tmp_path: object) -> None:
    from alliance_monitor import analyze_transcript
    from alliance_monitor._models import Message

    def msgs(*texts: str) -> list[Message]:
        return [
            Message(
                conversation_id="c",
                id=f"m{i}",
                ts=float(i),
                role=Role.COUNSELOR if i % 2 else Role.CLIENT,
                text=t,
            )
            for i, t in enumerate(texts)
        ]

    zh_res = analyze_transcript("c", msgs(*(t for _, t in WARM)), scorer)
    assert zh_res.language == "zh" and zh_res.to_json()["language"] == "zh"
    en_res = analyze_transcript("c", msgs("I can't sleep", "What keeps you awake?"), scorer)
    assert en_res.to_json()["language"] == "en"
    mixed = analyze_transcript(
        "c", msgs("最近 deadline 太多了", "It sounds like 工作让你很累"), scorer
    )
    assert mixed.language == "mixed"


def test_a_statement_about_the_clients_feelings_is_less_passive_than_one_about_nothing() -> None:
    # no model reads Chinese: a statement that speaks about the client and an inner state reads
    # as taking them up; one about neither ("下周见", the counselor's own plans) does not
    about = _last(DISCLOSURE, ("c", "你这段时间一个人承受了很多委屈。"))[0]
    nothing = _last(DISCLOSURE, ("c", "我下个月要去外地开会。"))[0]
    question = _last(DISCLOSURE, ("c", "分手以后你是怎么过的？"))[0]
    assert question < about < nothing
    assert about < 0.5


def test_how_can_you_reproaches_only_when_it_is_not_asking_the_way() -> None:
    assert "moralize" in _last(DISCLOSURE, ("c", "你怎么能这样对你妈妈说话！"))[2]
    asking = _last(DISCLOSURE, ("c", "你怎么能想到这个方法的？"))
    assert "moralize" not in asking[2] and asking[1] < 0.5
