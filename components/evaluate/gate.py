"""The evaluation gate that decides whether a student may be published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GateConfig:
    """Student WER must be <= max_wer and <= max_ratio_to_init * student-at-init WER."""

    max_wer: float = 1.0
    max_ratio_to_init: float = 0.667


def check_gate(wers: dict[str, float], cfg: GateConfig) -> dict[str, Any]:
    """Evaluate each rule on the measured WERs; ``passed`` only when all hold."""
    student, init = wers["student"], wers["student_init"]
    rules = {
        "student_wer_at_most_max_wer": {"value": student, "limit": cfg.max_wer, "passed": student <= cfg.max_wer},
        "student_wer_vs_init_ratio": {"value": round(student / init, 4) if init else 0.0,
                                      "limit": cfg.max_ratio_to_init,
                                      "passed": init > 0 and student <= cfg.max_ratio_to_init * init},
    }
    return {"passed": all(rule["passed"] for rule in rules.values()), "rules": rules}
