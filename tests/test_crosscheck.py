"""The library's own implementations against the ecosystem's reference ones, on random data.

Signing is checked against the `standardwebhooks` package (what receivers use): signatures made
here verify there and the other way round, secrets of every length and key rotation included,
and a real delivery from `AlertDispatcher` verifies with it. The statistics of `study` and
`evaluate` (written here in pure Python, so the package needs neither) are checked against scipy
and pingouin: Friedman (tie-corrected), repeated-measures ANOVA with the Greenhouse-Geisser
epsilon and corrected p, ICC(2,1) and ICC(2,k), AUC (from Mann-Whitney U), Spearman and Pearson,
the Student-t interval and the distribution tails, on ratings with ties (half-point 1-5 scales,
as real ratings are) and without.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import warnings
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
import scipy.stats as scipy_stats  # the dev group installs these (pyproject.toml)
import standardwebhooks.webhooks as standardwebhooks

from alliance_monitor.alerts import (
    AlertDispatcher,
    WebhookEndpoint,
    generate_webhook_secret,
    sign_webhook,
    verify_webhook,
)
from alliance_monitor.alerts.testing import LoopbackReceiver
from alliance_monitor.evaluate._agreement import (
    Prepared,
    auc,
    icc2_1,
    icc2_k,
    pearson,
    spearman,
)
from alliance_monitor.study._stats import chi2_sf, f_sf, friedman, mean_ci, rm_anova, t_ppf

with warnings.catch_warnings():  # pingouin and its plotting stack warn on import
    warnings.simplefilter("ignore")
    import pandas
    import pingouin

SEEDS = range(int(os.environ.get("ALLIANCE_MONITOR_CROSSCHECK_SEEDS", "25")))


def close(a: float | None, b: float, tol: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, float(b), rel_tol=tol, abs_tol=tol)


# ---------------------------------------------------------------------- signing


@pytest.mark.parametrize("seed", SEEDS)
def test_signatures_agree_with_standardwebhooks(seed: int) -> None:
    rng = random.Random(seed)
    secret = generate_webhook_secret(rng.choice([24, 32, 48, 64]))
    msg_id = "msg_" + "".join(
        rng.choice("abcdefXYZ0123456789_-") for _ in range(rng.randint(1, 40))
    )
    ts = rng.randint(1_000_000_000, 2_000_000_000)
    body = json.dumps({"type": "safety_signal", "n": rng.random(), "t": "é✓"}).encode()
    theirs = standardwebhooks.Webhook(secret)
    mine = sign_webhook([secret], msg_id, ts, body)
    assert mine == theirs.sign(msg_id, datetime.fromtimestamp(ts, UTC), body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": mine}
    # theirs checks the timestamp against the clock: sign "now" for the round trip
    now = int(datetime.now(UTC).timestamp())
    headers_now = {**headers, "webhook-timestamp": str(now)}
    headers_now["webhook-signature"] = sign_webhook([secret], msg_id, now, body)
    assert theirs.verify(body, headers_now) == json.loads(body)
    # theirs signs, mine verifies
    sig = theirs.sign(msg_id, datetime.fromtimestamp(ts, UTC), body)
    verified = verify_webhook({**headers, "webhook-signature": sig}, body, [secret], now=ts)
    assert verified.id == msg_id and verified.timestamp == ts


def test_rotation_and_a_raw_key_agree_with_standardwebhooks() -> None:
    old, new = generate_webhook_secret(), generate_webhook_secret()
    body = b'{"type":"alliance_declined"}'
    now = int(datetime.now(UTC).timestamp())
    header = sign_webhook([new, old], "msg_rot", now, body)
    assert len(header.split()) == 2
    for secret in (old, new):  # a receiver still on either secret accepts it
        standardwebhooks.Webhook(secret).verify(
            body,
            {"webhook-id": "msg_rot", "webhook-timestamp": str(now), "webhook-signature": header},
        )
    raw = os.urandom(32)  # a key given as bytes, and the same key as whsec_ text
    text = "whsec_" + base64.b64encode(raw).decode()
    assert sign_webhook([raw], "m", now, body) == sign_webhook([text], "m", now, body)
    assert standardwebhooks.Webhook(raw).sign("m", datetime.fromtimestamp(now, UTC), body) == (
        sign_webhook([raw], "m", now, body)
    )
    wrong = standardwebhooks.Webhook(generate_webhook_secret())
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        wrong.verify(
            body,
            {"webhook-id": "msg_rot", "webhook-timestamp": str(now), "webhook-signature": header},
        )


def test_a_delivered_alert_verifies_with_standardwebhooks() -> None:
    from alliance_monitor._events import SafetySignal

    secret = generate_webhook_secret()
    event = SafetySignal(
        id="evt_cross", conversation_id="c-1", message_id="m-1", category="self_harm"
    )

    async def run() -> list[Any]:
        async with LoopbackReceiver(secrets=[secret]) as rx:
            async with AlertDispatcher(
                [WebhookEndpoint(rx.url, [secret])], allow_private=True
            ) as d:
                await d.submit(event)
                assert await d.drain(10)
            return list(rx.requests)

    (req,) = anyio.run(run)
    body = standardwebhooks.Webhook(secret).verify(req.body, req.headers)
    assert body["type"] == "safety_signal" and body["data"]["id"] == "evt_cross"


# ---------------------------------------------------------------------- statistics


def ratings(rng: random.Random, n: int, k: int, *, ties: bool) -> list[list[float]]:
    """n targets x k phases/raters: a per-target level, a per-column shift, noise; on the
    half-point 1-5 grid when `ties`."""
    shift = [rng.gauss(0, 0.4) for _ in range(k)]
    out = []
    for _ in range(n):
        level = rng.uniform(1.5, 4.5)
        row = [min(5.0, max(1.0, level + shift[j] + rng.gauss(0, 0.6))) for j in range(k)]
        out.append([round(v * 2) / 2 for v in row] if ties else row)
    return out


def _long(rows: list[list[float]]) -> Any:
    return pandas.DataFrame(
        [
            {"subject": i, "within": j, "value": v}
            for i, r in enumerate(rows)
            for j, v in enumerate(r)
        ]
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [True, False])
def test_friedman_agrees_with_scipy_and_pingouin(seed: int, ties: bool) -> None:
    rng = random.Random(seed)
    rows = ratings(rng, rng.randint(5, 60), rng.choice([3, 3, 4]), ties=ties)
    mine = friedman(rows)
    cols = list(zip(*rows, strict=True))
    ref = scipy_stats.friedmanchisquare(*cols)
    if math.isnan(ref.statistic):
        assert mine.statistic is None
        return
    assert close(mine.statistic, ref.statistic, 1e-9) and close(mine.p_value, ref.pvalue, 1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pg = pingouin.friedman(data=_long(rows), dv="value", within="within", subject="subject")
    assert close(mine.statistic, pg["Q"].iloc[0], 1e-9)
    assert close(mine.kendall_w, pg["W"].iloc[0], 1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [True, False])
def test_rm_anova_and_greenhouse_geisser_agree_with_pingouin(seed: int, ties: bool) -> None:
    rng = random.Random(seed)
    k = rng.choice([3, 3, 4])
    rows = ratings(rng, rng.randint(k + 2, 60), k, ties=ties)
    mine = rm_anova(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pg = pingouin.rm_anova(
            data=_long(rows), dv="value", within="within", subject="subject", correction=True,
            detailed=False,
        )  # fmt: skip
        eps = pingouin.epsilon(data=_long(rows), dv="value", within="within", subject="subject")
    row = pg.iloc[0]
    p_unc = row["p_unc"] if "p_unc" in row else row["p-unc"]  # pingouin >= 0.6 / older
    p_gg = row["p_GG_corr"] if "p_GG_corr" in row else row["p-GG-corr"]
    assert close(mine.f, row["F"], 1e-9) and close(mine.p_value, p_unc, 1e-7)
    assert close(float(row["eps"]), float(eps), 1e-12)
    # pingouin's epsilon is not clipped to [1/(k-1), 1]; the library clips, as SPSS and R do
    assert close(mine.epsilon_gg, min(1.0, max(1 / (k - 1), float(eps))), 1e-9)
    if 1 / (k - 1) <= float(eps) <= 1.0:
        assert close(mine.p_gg, p_gg, 1e-7)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [True, False])
def test_icc_agrees_with_pingouin(seed: int, ties: bool) -> None:
    rng = random.Random(seed)
    rows = ratings(rng, rng.randint(4, 60), rng.choice([2, 2, 3, 5]), ties=ties)
    frame = pandas.DataFrame(
        [
            {"target": i, "rater": j, "rating": v}
            for i, r in enumerate(rows)
            for j, v in enumerate(r)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pingouin.intraclass_corr(
            data=frame, targets="target", raters="rater", ratings="rating"
        ).set_index("Type")
    # Shrout and Fleiss ICC(2,1) / ICC(2,k): two-way random, absolute agreement (pingouin 0.7
    # names them ICC(A,1) / ICC(A,k), earlier versions ICC2 / ICC2k)
    one = "ICC(A,1)" if "ICC(A,1)" in table.index else "ICC2"
    many = "ICC(A,k)" if "ICC(A,k)" in table.index else "ICC2k"
    assert close(icc2_1(rows), table.loc[one, "ICC"], 1e-9)
    assert close(icc2_k(rows), table.loc[many, "ICC"], 1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [True, False])
def test_auc_spearman_pearson_agree_with_scipy(seed: int, ties: bool) -> None:
    rng = random.Random(seed)
    n = rng.randint(6, 300)
    x = [rng.gauss(0, 1) for _ in range(n)]
    y = [xi * rng.uniform(0.2, 2) + rng.gauss(0, 1) for xi in x]
    if ties:
        x = [round(v * 2) / 2 for v in x]
        y = [round(v) for v in y]
    labels = [yi > 0 for yi in y]
    pos = [xi for xi, lab in zip(x, labels, strict=True) if lab]
    neg = [xi for xi, lab in zip(x, labels, strict=True) if not lab]
    if pos and neg:
        u = scipy_stats.mannwhitneyu(pos, neg, alternative="two-sided", method="asymptotic")
        assert close(auc(x, labels), u.statistic / (len(pos) * len(neg)), 1e-12)
    assert close(spearman(x, y), scipy_stats.spearmanr(x, y).statistic, 1e-9)
    assert close(pearson(x, y), scipy_stats.pearsonr(x, y).statistic, 1e-9)
    # the bootstrap's weighted path: weights equal the expanded sample, which scipy sees
    w = [rng.randint(0, 3) for _ in range(n)]
    xs = [v for v, c in zip(x, w, strict=True) for _ in range(c)]
    ys = [v for v, c in zip(y, w, strict=True) for _ in range(c)]
    prepared = Prepared(x, y)
    if len(set(xs)) > 1 and len(set(ys)) > 1 and len(xs) >= 3:
        assert close(prepared.spearman(w), scipy_stats.spearmanr(xs, ys).statistic, 1e-9)
        assert close(prepared.pearson(w), scipy_stats.pearsonr(xs, ys).statistic, 1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_interval_and_tails_agree_with_scipy(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.uniform(1, 5) for _ in range(rng.randint(2, 200))]
    level = rng.choice([0.8, 0.9, 0.95, 0.99])
    ci = mean_ci(values, level)
    lo, hi = scipy_stats.t.interval(
        level, len(values) - 1, loc=sum(values) / len(values), scale=scipy_stats.sem(values)
    )
    assert close(ci.lo, lo, 1e-8) and close(ci.hi, hi, 1e-8)
    df = rng.uniform(1, 120)
    p = rng.uniform(0.5, 0.999)
    assert close(t_ppf(p, df), scipy_stats.t.ppf(p, df), 1e-7)
    x = rng.uniform(0, 40)
    assert close(chi2_sf(x, int(df) or 1), scipy_stats.chi2.sf(x, int(df) or 1), 1e-7)
    d1, d2 = rng.uniform(0.5, 10), rng.uniform(1, 200)
    f = rng.uniform(0, 10)
    assert close(f_sf(f, d1, d2), scipy_stats.f.sf(f, d1, d2), 1e-7)
