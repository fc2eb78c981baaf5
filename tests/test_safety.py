"""The safety net: risk phrases are found through trivial obfuscation; idioms are not flagged."""

from __future__ import annotations

import dataclasses
import time

import pytest

from alliance_monitor import _safety
from alliance_monitor._safety import SafetyHit, scan_risk

SELF_HARM = [
    "I want to kill myself",
    "honestly i just want to die",
    "I wanna die",
    "I've been thinking about ending my life",
    "I want to end it all",
    "I wish I was dead",
    "everyone would be better off without me",
    "there's no reason to live anymore",
    "I don't want to be alive anymore",
    "I feel suicidal",
    "I've been cutting myself again",
    "I hurt myself last night on purpose",
    "I tried to kill myself last year",
    "I'm going to overdose on my pills tonight",
    "I took all my pills",
    "I wrote a goodbye letter to my mom",
    "I'm going to jump off the bridge",
    "I tied a noose",
    "sometimes I want to unalive myself",
    "I want to kms",
    "I want to kill myself lol",  # laughter does not cancel risk
]
OTHERS = [
    "I'm going to kill him",
    "I want to hurt my stepdad",
    "I keep thinking about stabbing my roommate",
    "I'm afraid I'll hurt my baby",
    "I'm going to bring a gun to school",
    "I have homicidal thoughts",
]
HARMLESS = [
    "killing it at work this week!",
    "I could kill for a coffee",
    "my phone died",
    "my plant died and I was sad",
    "this commute is killing me",
    "I'm dying to see that film",
    "dead tired after the night shift",
    "I nailed the presentation, totally killed it",
    "I cut myself shaving",
    "cut myself a slice of cake",
    "I hurt myself at the gym",
    "I'm killing myself studying for finals",
    "I don't want to hurt her feelings",
    "the cancer killed him in the end",
    "I'd kill him for that lol",  # hyperbole without intent words
    "my nose is bleeding",
    "suicide squad was a bad film",
    "I ran 5 kms today",
    "I don't want to die",
    "I'm not suicidal, just tired",
    "I would never kill myself",
    "what a deadline",
    "I upskilled myself this year",
    "",
    "ok",
]


def test_phrases_from_the_brief() -> None:
    for text in ("I want to kill myself", "i dont want to live anymore"):
        hit = scan_risk(text)
        assert hit is not None and hit.category == "self_harm"
    for text in ("killing it at work", "I could kill for a coffee", "my phone died"):
        assert scan_risk(text) is None


@pytest.mark.parametrize("text", SELF_HARM)
def test_self_harm_is_flagged(text: str) -> None:
    hit = scan_risk(text)
    assert hit is not None, text
    assert hit.category == "self_harm"
    assert hit.cues


@pytest.mark.parametrize("text", OTHERS)
def test_harm_to_others_is_flagged(text: str) -> None:
    hit = scan_risk(text)
    assert hit is not None, text
    assert hit.category == "harm_to_others"


@pytest.mark.parametrize("text", HARMLESS)
def test_idioms_and_denials_are_not_flagged(text: str) -> None:
    assert scan_risk(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        "I want to k\u200bill my\u200dself",  # zero-width space and joiner
        "I want to ki\u00adll myself",  # soft hyphen
        "\ufeffI want to kill myself",  # BOM
        "ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ",  # full-width (NFKC)
        "I want to 𝓀𝒾𝓁𝓁 𝓂𝓎𝓈𝑒𝓁𝒻",  # mathematical script letters
        "I want to kíll mysélf",  # accents
        "I want to k̷i̷l̷l̷ m̷y̷s̷e̷l̷f̷",  # combining overlay ("strike-through")
        "I want to кill myѕelf",  # Cyrillic look-alikes
        "I WANT TO KILL MYSELF",
        "I want to k1ll mys3lf",
        "I want to ki11 myself",
        "I w@nt t0 d!e",
        "su1c1dal",
        "$elf harm",
        "k i l l  m y s e l f",
        "s.u.i.c.i.d.a.l",
        "i w a n t t o d i e",
        "I want to d-i-e",
        "i want to dieeeee",
        "I want to kiiiill myself",
        "#killmyself",
        "I don’t want to live anymore",  # typographic apostrophe
    ],
)
def test_trivial_obfuscation_does_not_hide_risk(text: str) -> None:
    hit = scan_risk(text)
    assert hit is not None, text
    assert hit.category == "self_harm"


def test_cues_are_machine_labels_never_text() -> None:
    planted = "Zorblax Quintavious 555-0199"
    hit = scan_risk(f"my name is {planted} and I tried to kill myself, I want to end my life")
    assert hit is not None
    assert hit.cues == ("prior_attempt", "suicidal_ideation")
    assert all(c.isidentifier() for c in hit.cues)
    assert "Zorblax" not in repr(hit)


def test_both_directions_report_self_harm_with_all_cues() -> None:
    hit = scan_risk("I want to kill him and then kill myself")
    assert hit is not None
    assert hit.category == "self_harm"
    assert "violent_intent" in hit.cues and "suicidal_ideation" in hit.cues


def test_a_later_affirmation_after_a_denial_is_flagged() -> None:
    assert scan_risk("I don't want to die") is None
    assert scan_risk("I don't want to die but I want to kill myself") is not None


def test_safety_hit_is_frozen() -> None:
    hit = SafetyHit("self_harm", ("self_harm",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.category = "harm_to_others"  # type: ignore[misc]


def test_documented_as_a_safety_net_not_a_clinical_instrument() -> None:
    for doc in (_safety.__doc__ or "", scan_risk.__doc__ or ""):
        assert "not a clinical instrument" in doc


def test_risk_at_the_end_of_a_huge_message_is_found() -> None:
    text = "I had a normal day at work. " * 40_000 + "Tonight I want to end my life."
    assert len(text) > 1_000_000
    assert scan_risk(text) is not None


def test_fast_enough_for_every_client_message() -> None:
    messages = [t for t in HARMLESS + SELF_HARM + OTHERS if t] * 20
    messages.append(
        "Honestly I have been feeling a bit down this week, work is stressful and my sister "
        "keeps calling me about the holidays, I don't know what to tell her."
    )
    start = time.perf_counter()
    for text in messages:
        scan_risk(text)
    per_message_us = (time.perf_counter() - start) / len(messages) * 1e6
    # Typical chat messages take ~20-40 µs on a laptop core; the bound only catches blow-ups.
    assert per_message_us < 1000, per_message_us
