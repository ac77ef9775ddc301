"""The release rule that needs the Hub: no worse than the released model, read from its model-index."""

from __future__ import annotations

from typing import Any

from components.publish.model_card import eval_sets


def _rule(value: Any, limit: Any, passed: bool | None, detail: str) -> dict[str, Any]:
    verdict = "skipped" if passed is None else ("passed" if passed else "failed")
    return {"value": value, "limit": limit, "passed": passed, "verdict": verdict, "detail": detail}


def released_wers(card: Any) -> dict[str, float]:
    """Set name (the result's dataset config) -> WER (fraction) from a released card's model-index."""
    results = getattr(card, "eval_results", None) or []
    return {r.dataset_config: float(r.metric_value) / 100 for r in results
            if r.metric_type == "wer" and r.dataset_config}


def released_rules(card: Any, metrics: dict[str, Any], margin: float | None, first_release: bool
                   ) -> dict[str, dict[str, Any]]:
    """One rule per gate set: student WER <= released WER x (1 + margin); skipped, with a note, when
    there is no released model, no margin, or the released card has no result for that set."""
    sets = eval_sets(metrics)
    names = metrics.get("gate", {}).get("sets") or list(sets)
    if margin is None:
        return {"no_worse_than_released": _rule(None, None, None, "rule off (publish.released_margin is null)")}
    if first_release:
        return {"no_worse_than_released": _rule(None, None, None, "first release: no released model to compare")}
    released = released_wers(card)
    rules = {}
    for name in names:
        student = sets[name]["student"]["wer"]
        if name not in released:
            rules[f"no_worse_than_released[{name}]"] = _rule(student, None, None,
                                                             "the released model-index has no result for this set")
            continue
        limit = round(released[name] * (1 + margin), 4)
        rules[f"no_worse_than_released[{name}]"] = _rule(
            student, limit, student <= limit, f"student WER <= released WER {released[name]:.4f} x (1 + {margin})")
    return rules
