"""The release gate: rules on the evaluation metrics, each written out with its value, limit and verdict.

Rules (a limit of null switches a rule off):

- ``max_wer``: the student's overall WER (macro average over the sets) at most this;
- ``max_ratio_to_init``: the student's overall WER at most this times the student-at-init's;
- ``teacher_margin``: on each gate set, the student's WER at most the teacher's x (1 + margin);
- ``max_insertion_rate`` and ``max_dup5_per_1k_words``: on each gate set, the student's
  insertion error rate and repeated 5-grams per 1,000 words at most these (hallucination).

The gate sets are ``sets`` when named, else the out-of-distribution sets, else all sets.
The rule against the released model needs the Hub, so the publish stage applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.core.errors import ConfigError

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class GateConfig:
    """Release rules; see the module docstring. Every limit may be null (rule off)."""

    max_wer: float | None = 1.0
    max_ratio_to_init: float | None = 0.667
    sets: tuple[str, ...] = ()
    teacher_margin: float | None = None
    max_insertion_rate: float | None = None
    max_dup5_per_1k_words: float | None = None


def rule(value: float | None, limit: float | None, passed: bool | None, detail: str = "") -> dict[str, Any]:
    """One rule's record: value, limit, verdict (``passed``/``failed``/``skipped``) and a note."""
    verdict = SKIPPED if passed is None else (PASSED if passed else FAILED)
    return {"value": value, "limit": limit, "passed": passed, "verdict": verdict, "detail": detail}


def gate_sets(cfg: GateConfig, sets: dict[str, dict[str, Any]]) -> list[str]:
    """The sets the per-set rules read: named, else out-of-distribution, else all."""
    unknown = [name for name in cfg.sets if name not in sets]
    if unknown:
        raise ConfigError(f"evaluate.gate.sets: unknown set(s) {', '.join(unknown)}; sets: {', '.join(sets)}")
    if cfg.sets:
        return list(cfg.sets)
    return [n for n, s in sets.items() if s["distribution"] == "out"] or list(sets)


def _overall_rules(systems: dict[str, Any], cfg: GateConfig) -> dict[str, dict[str, Any]]:
    student, init = systems["student"]["wer"], systems["student_init"]["wer"]
    rules = {}
    if cfg.max_wer is not None:
        rules["student_wer_at_most_max_wer"] = rule(student, cfg.max_wer, student <= cfg.max_wer,
                                                    "student's macro-average WER over all sets")
    if cfg.max_ratio_to_init is not None:
        ratio = round(student / init, 4) if init else None
        rules["student_wer_vs_init_ratio"] = rule(ratio, cfg.max_ratio_to_init,
                                                  bool(init) and student <= cfg.max_ratio_to_init * init,
                                                  "student's WER / student-at-init's")
    return rules


def _set_rules(systems: dict[str, Any], names: list[str], cfg: GateConfig) -> dict[str, dict[str, Any]]:
    rules = {}
    for name in names:
        student, teacher = systems["student"]["sets"][name], systems["teacher"]["sets"][name]
        if cfg.teacher_margin is not None:
            limit = round(teacher["wer"] * (1 + cfg.teacher_margin), 4)
            rules[f"student_vs_teacher[{name}]"] = rule(
                student["wer"], limit, student["wer"] <= limit,
                f"student WER <= teacher WER {teacher['wer']} x (1 + {cfg.teacher_margin})")
        if cfg.max_insertion_rate is not None:
            rules[f"insertion_rate[{name}]"] = rule(student["insertion_rate"], cfg.max_insertion_rate,
                                                    student["insertion_rate"] <= cfg.max_insertion_rate,
                                                    "student's insertions per reference word")
        if cfg.max_dup5_per_1k_words is not None:
            rules[f"dup5_per_1k_words[{name}]"] = rule(student["dup5_per_1k_words"], cfg.max_dup5_per_1k_words,
                                                       student["dup5_per_1k_words"] <= cfg.max_dup5_per_1k_words,
                                                       "student's repeated 5-grams per 1,000 reference words")
    return rules


def check_gate(systems: dict[str, Any], sets: dict[str, dict[str, Any]], cfg: GateConfig) -> dict[str, Any]:
    """Evaluate every rule that is on; ``passed`` only when none failed. ``sets`` names the gate sets."""
    names = gate_sets(cfg, sets)
    rules = {**_overall_rules(systems, cfg), **_set_rules(systems, names, cfg)}
    failed = [n for n, r in rules.items() if r["verdict"] == FAILED]
    return {"passed": not failed, "failed": failed, "sets": names, "rules": rules}
