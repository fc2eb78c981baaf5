"""Counselors rate the feedback they were given: the paper's three questions, stored durably.

The paper's proof of concept asked counselors to rate the model's feedback on three questions,
1-5 (Li et al. 2024 report means of 3.43, 3.49 and 3.74):

- ``understanding``: the feedback helped me understand the alliance with this client;
- ``directions``: it showed me directions to improve;
- ``willingness``: I am willing to adjust my approach.

A rating names the feedback item by the id of the event that carried it (a `PatternDetected`
or `AllianceDeclined` event's ``id``: stable, the same in the live monitor and in `study`'s
replay) and may add free text. The platform may also say that a feedback item was *delivered*
(shown to the counselor) without a rating; a rating implies delivery. Deliveries are what the
recovery figure (`_recovery`) compares against pairs that had none.

    ratings = FeedbackRatings("ratings.db", board=board)   # board: optional, live view
    ratings.record_rating(FeedbackRating(feedback_id=ev.id, conversation_id=ev.conversation_id,
                                         understanding=4, directions=3, willingness=5))
    ratings.record_delivery(FeedbackDelivery(feedback_id=ev.id, conversation_id=...))

Privacy: the comment is free text from a counselor about a client: it is stored (owner-only
file) and returned by `RatingStore.ratings()`, and nothing else: never logged, never in an
exception message, never in `repr`, never in the board or the study's outputs.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import AllianceMonitorError, InvalidMessage
from .._files import private_sqlite_file
from ._items import bounded
from ._stats import MeanCI, mean_ci

__all__ = [
    "MAX_COMMENT_CHARS",
    "PAPER_MEANS",
    "QUESTIONS",
    "FeedbackDelivery",
    "FeedbackRating",
    "FeedbackRatings",
    "InvalidRating",
    "RatingStore",
    "RatingSummary",
    "parse_feedback_record",
    "read_feedback_file",
    "summarize_ratings",
]

#: The three questions, in the paper's order.
QUESTIONS: tuple[str, ...] = ("understanding", "directions", "willingness")
#: What the paper's counselors gave the LLM's feedback (means of 1-5 ratings).
PAPER_MEANS: dict[str, float] = {"understanding": 3.43, "directions": 3.49, "willingness": 3.74}
MAX_COMMENT_CHARS = 4000
_MAX_ID = 256


class InvalidRating(AllianceMonitorError):
    """A rating or delivery record was refused. `reason` and `field` say why; the submitted
    values (the comment above all) are never part of the message."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"feedback record refused: {reason}" + (f" ({field})" if field else ""))


@dataclass(frozen=True, slots=True)
class FeedbackRating:
    """One counselor's rating of one feedback item (1-5 on each of the three questions)."""

    feedback_id: str
    conversation_id: str
    understanding: int
    directions: int
    willingness: int
    comment: str | None = field(default=None, repr=False)
    counselor_id: str | None = None
    ts: float | None = None
    #: De-duplication key (the HTTP endpoint uses the request's webhook-id); default: one
    #: rating per feedback item and counselor.
    rating_id: str | None = None

    def __post_init__(self) -> None:
        for q in QUESTIONS:
            v = getattr(self, q)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
                raise InvalidRating("score_out_of_range", q)
        for name in ("feedback_id", "conversation_id"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v or len(v) > _MAX_ID:
                raise InvalidRating("bad_id", name)
        if self.comment is not None and len(self.comment) > MAX_COMMENT_CHARS:
            raise InvalidRating("comment_too_long", "comment")

    def scores(self) -> dict[str, int]:
        return {q: int(getattr(self, q)) for q in QUESTIONS}

    @property
    def key(self) -> str:
        return self.rating_id or f"{self.feedback_id}\x1f{self.counselor_id or ''}"


@dataclass(frozen=True, slots=True)
class FeedbackDelivery:
    """A feedback item was shown to the counselor (no rating)."""

    feedback_id: str
    conversation_id: str
    ts: float | None = None

    def __post_init__(self) -> None:
        for name in ("feedback_id", "conversation_id"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v or len(v) > _MAX_ID:
                raise InvalidRating("bad_id", name)


def _id(obj: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    v = obj.get(name)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v or len(v) > _MAX_ID:
        raise InvalidRating("missing_field" if v is None else "bad_id", name)
    return v


def parse_feedback_record(
    obj: Any, *, rating_id: str | None = None
) -> FeedbackRating | FeedbackDelivery:
    """A rating or a delivery from its JSON form (the HTTP endpoint's body, a line of a
    ratings file)::

        {"type": "rating", "feedback_id": "evt_...", "conversation_id": "pair-1",
         "ratings": {"understanding": 4, "directions": 3, "willingness": 5},
         "comment": "...", "counselor_id": "c-7", "ts": 1718000000}
        {"type": "delivery", "feedback_id": "evt_...", "conversation_id": "pair-1", "ts": ...}

    ``type`` defaults to "rating". Raises `InvalidRating` naming the field, never its value."""
    if not isinstance(obj, dict):
        raise InvalidRating("not_an_object")
    kind = obj.get("type", "rating")
    if kind not in ("rating", "delivery"):
        raise InvalidRating("unknown_type", "type")
    fid, cid = _id(obj, "feedback_id"), _id(obj, "conversation_id")
    assert fid is not None and cid is not None
    ts = obj.get("ts")
    if ts is not None and (
        isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts)
    ):
        raise InvalidRating("bad_timestamp", "ts")
    if kind == "delivery":
        return FeedbackDelivery(fid, cid, None if ts is None else float(ts))
    scores = obj.get("ratings")
    if not isinstance(scores, dict):
        raise InvalidRating("missing_field", "ratings")
    values: dict[str, int] = {}
    for q in QUESTIONS:
        v = scores.get(q)
        if v is None:
            raise InvalidRating("missing_field", f"ratings.{q}")
        if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
            raise InvalidRating("bad_score", f"ratings.{q}")
        values[q] = int(v)
    comment = obj.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidRating("bad_comment", "comment")
    return FeedbackRating(
        feedback_id=fid,
        conversation_id=cid,
        comment=comment or None,
        counselor_id=_id(obj, "counselor_id", required=False),
        ts=None if ts is None else float(ts),
        rating_id=rating_id,
        **values,
    )


# ---------------------------------------------------------------------- storage
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    rating_key      TEXT PRIMARY KEY,
    feedback_id     TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    counselor_id    TEXT,
    understanding   INTEGER NOT NULL,
    directions      INTEGER NOT NULL,
    willingness     INTEGER NOT NULL,
    comment         TEXT,
    ts              REAL,
    received_at     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    feedback_id     TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    ts              REAL,
    received_at     REAL NOT NULL
);
"""


class RatingStore:
    """Ratings and deliveries in SQLite: WAL with ``synchronous=FULL`` (a recorded rating
    survives a crash and a power loss), owner-only file. ``path=None`` or ":memory:": kept in
    memory only. Thread-safe (one lock); every write is one transaction."""

    def __init__(self, path: str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        path = _sqlite_path(path)
        self.path = path
        if path is not None:
            private_sqlite_file(path)  # counselors' comments about clients: owner only
        self._db = sqlite3.connect(
            path or ":memory:", isolation_level=None, check_same_thread=False
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._clock = clock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"RatingStore({self.path or ':memory:'})"

    def add_rating(self, r: FeedbackRating) -> bool:
        """Store a rating (and its delivery). False when its key was already stored."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    r.key,
                    r.feedback_id,
                    r.conversation_id,
                    r.counselor_id,
                    r.understanding,
                    r.directions,
                    r.willingness,
                    r.comment,
                    r.ts,
                    self._clock(),
                ),
            )
            new = cur.rowcount == 1
            self._deliver(FeedbackDelivery(r.feedback_id, r.conversation_id, r.ts))
            return new

    def add_delivery(self, d: FeedbackDelivery) -> bool:
        """Store a delivery. False when that feedback item was already delivered."""
        with self._lock:
            return self._deliver(d)

    def _deliver(self, d: FeedbackDelivery) -> bool:
        cur = self._db.execute(
            "INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?)",
            (d.feedback_id, d.conversation_id, d.ts, self._clock()),
        )
        return cur.rowcount == 1

    def ratings(self) -> Iterator[FeedbackRating]:
        with self._lock:
            rows = self._db.execute(
                "SELECT rating_key, feedback_id, conversation_id, counselor_id, understanding, "
                "directions, willingness, comment, ts FROM ratings ORDER BY received_at, rowid"
            ).fetchall()
        for key, fid, cid, who, u, d, w, comment, ts in rows:
            yield FeedbackRating(fid, cid, u, d, w, comment, who, ts, key)

    def deliveries(self) -> Iterator[FeedbackDelivery]:
        with self._lock:
            rows = self._db.execute(
                "SELECT feedback_id, conversation_id, ts FROM deliveries "
                "ORDER BY received_at, rowid"
            ).fetchall()
        for fid, cid, ts in rows:
            yield FeedbackDelivery(fid, cid, ts)

    def counts(self) -> dict[str, int]:
        with self._lock:
            (n_r,) = self._db.execute("SELECT COUNT(*) FROM ratings").fetchone()
            (n_d,) = self._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()
        return {"ratings": int(n_r), "deliveries": int(n_d)}


def read_feedback_file(
    path: str,
) -> tuple[list[FeedbackRating], list[FeedbackDelivery], Counter[str]]:
    """Ratings and deliveries from a `RatingStore` database (opened read-only) or a JSONL file
    of records in the HTTP body's form. Returns them with the refused lines counted by reason."""
    from .._io import iter_lines

    refused: Counter[str] = Counter()
    with open(path, "rb") as f:
        is_sqlite = f.read(16) == b"SQLite format 3\x00"
    if is_sqlite:
        from pathlib import Path

        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT rating_key, feedback_id, conversation_id, counselor_id, understanding, "
                "directions, willingness, comment, ts FROM ratings ORDER BY received_at, rowid"
            ).fetchall()
            drows = db.execute(
                "SELECT feedback_id, conversation_id, ts FROM deliveries "
                "ORDER BY received_at, rowid"
            ).fetchall()
        finally:
            db.close()
        ratings = [
            FeedbackRating(fid, cid, u, d, w, comment, who, ts, key)
            for key, fid, cid, who, u, d, w, comment, ts in rows
        ]
        return ratings, [FeedbackDelivery(*r) for r in drows], refused
    ratings, deliveries = [], []
    for _n, obj in iter_lines(path):
        if isinstance(obj, InvalidMessage):  # not JSON, or JSON out of bounds
            refused[obj.reason.value] += 1
            continue
        try:
            rec = parse_feedback_record(obj)
        except InvalidRating as exc:
            refused[exc.reason] += 1
            continue
        if isinstance(rec, FeedbackRating):
            ratings.append(rec)
        else:
            deliveries.append(rec)
    return ratings, deliveries, refused


def _sqlite_path(path: str | None) -> str | None:
    if path is None or path == ":memory:":
        return None
    return path.removeprefix("sqlite:///") if path.startswith("sqlite:///") else path


# ---------------------------------------------------------------------- summary
@dataclass(frozen=True, slots=True)
class RatingSummary:
    """Mean rating per question with a t interval inside 1-5, beside the paper's mean."""

    n: int
    means: dict[str, MeanCI]
    #: How often each score was given, per question (score -> count).
    histogram: dict[str, dict[int, int]]

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "n": self.n,
            "questions": {
                q: {
                    "mean": r(self.means[q].mean),
                    "ci": [r(self.means[q].lo), r(self.means[q].hi)],
                    "paper_mean": PAPER_MEANS[q],
                    "counts": {str(k): v for k, v in sorted(self.histogram[q].items())},
                }
                for q in QUESTIONS
            },
        }


def summarize_ratings(
    ratings: list[FeedbackRating] | list[dict[str, int]], level: float = 0.95
) -> RatingSummary:
    """The three questions' means (intervals bounded to the 1-5 scale) and score counts."""
    rows = [r if isinstance(r, dict) else r.scores() for r in ratings]
    means = {q: bounded(mean_ci([float(x[q]) for x in rows], level)) for q in QUESTIONS}
    hist = {q: dict(Counter(x[q] for x in rows)) for q in QUESTIONS}
    return RatingSummary(len(rows), means, hist)


# ---------------------------------------------------------------------- the API
class FeedbackRatings:
    """The ratings API: validates, stores durably, tells the live board, counts.

    `counts` are the Prometheus counters of `serve` (``feedback_ratings_total`` and friends):
    ratings and deliveries stored, duplicates, refusals by reason, and every score given per
    question."""

    def __init__(self, store: RatingStore | str | None = None, *, board: Any = None) -> None:
        self.store = store if isinstance(store, RatingStore) else RatingStore(store)
        self.board = board
        self.counts: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.scores: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def load_board(self) -> None:
        """Tell the board every stored rating and delivery (after a restart)."""
        if self.board is None:
            return
        for d in self.store.deliveries():
            self.board.feedback_delivered(d)
        for r in self.store.ratings():
            self.board.feedback_rated(r)

    def record(self, record: FeedbackRating | FeedbackDelivery) -> bool:
        if isinstance(record, FeedbackRating):
            return self.record_rating(record)
        return self.record_delivery(record)

    def record_rating(self, rating: FeedbackRating) -> bool:
        """Store `rating`; False if it was already stored (then nothing else happens)."""
        new = self.store.add_rating(rating)
        with self._lock:
            if not new:
                self.counts["duplicates"] += 1
                return False
            self.counts["ratings"] += 1
            for q, v in rating.scores().items():
                self.scores[(q, v)] += 1
        if self.board is not None:
            self.board.feedback_rated(rating)
        return True

    def record_delivery(self, delivery: FeedbackDelivery) -> bool:
        new = self.store.add_delivery(delivery)
        with self._lock:
            self.counts["deliveries" if new else "duplicates"] += 1
        if new and self.board is not None:
            self.board.feedback_delivered(delivery)
        return new

    def refuse(self, reason: str) -> None:
        with self._lock:
            self.refused[reason] += 1

    def summary(self, level: float = 0.95) -> RatingSummary:
        return summarize_ratings(list(self.store.ratings()), level)

    def metric_families(self) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
        """(name, type, help, samples) for Prometheus: counters since the process started."""
        with self._lock:
            counts, refused, scores = dict(self.counts), dict(self.refused), dict(self.scores)
        return [
            (
                "feedback_ratings_total",
                "counter",
                "Counselor ratings of feedback stored.",
                [({}, counts.get("ratings", 0))],
            ),
            (
                "feedback_deliveries_total",
                "counter",
                "Feedback items reported delivered to a counselor (without a rating).",
                [({}, counts.get("deliveries", 0))],
            ),
            (
                "feedback_ratings_duplicate_total",
                "counter",
                "Ratings and deliveries already stored (retries).",
                [({}, counts.get("duplicates", 0))],
            ),
            (
                "feedback_ratings_rejected_total",
                "counter",
                "Rating requests refused, by reason.",
                [({"reason": k}, v) for k, v in sorted(refused.items())],
            ),
            (
                "feedback_rating_scores_total",
                "counter",
                "Scores given, by question and score (1-5).",
                [
                    ({"question": q, "score": str(s)}, scores.get((q, s), 0))
                    for q in QUESTIONS
                    for s in range(1, 6)
                ],
            ),
        ]

    def close(self) -> None:
        self.store.close()
