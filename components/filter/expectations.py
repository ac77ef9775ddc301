"""Great Expectations gate on the filtered set: the data contract of what distillation trains on.

The validation result is written as a deterministic JSON (no run ids or
timestamps): one entry per expectation with its success and observed value.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd


def _suite(gx, threshold: float, max_duration_s: float):
    suite = gx.ExpectationSuite(name="filtered_training_set")
    e = gx.expectations
    for expectation in (
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToNotBeNull(column="pseudo_label"),
        e.ExpectColumnValuesToNotBeNull(column="text"),
        e.ExpectColumnValueLengthsToBeBetween(column="pseudo_label", min_value=1),
        e.ExpectColumnValuesToBeBetween(column="wer", min_value=0.0, max_value=threshold, strict_max=True),
        e.ExpectColumnValuesToBeBetween(column="duration", min_value=0.0, max_value=max_duration_s,
                                        strict_min=True),
        e.ExpectColumnValuesToMatchRegex(column="id", regex=r"^[a-z0-9_]+/.+"),
    ):
        suite.add_expectation(expectation)
    return suite


def validate_filtered(rows: list[dict[str, Any]], threshold: float, max_duration_s: float = 30.0) -> dict[str, Any]:
    """Run the expectation suite on the kept rows; returns {success, results[]}."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    frame = pd.DataFrame(rows, columns=["id", "text", "pseudo_label", "wer", "duration"])
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    batch = context.data_sources.add_pandas("filter").add_dataframe_asset("kept") \
        .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(_suite(gx, threshold, max_duration_s))
    return {"success": bool(result.success), "results": [_describe(r) for r in result.results]}


def _describe(result) -> dict[str, Any]:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    observed = result.result.get("observed_value", result.result.get("unexpected_count"))
    return {"expectation": config.type, "kwargs": kwargs, "success": bool(result.success), "observed": observed}


def merge_validations(per_shard: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One verdict over all shards: an expectation holds when it holds on every shard.

    ``results`` keeps each expectation once with its observed value per shard,
    and ``failed_shards`` names the shards where it failed.
    """
    merged: dict[str, dict[str, Any]] = {}
    for shard, validation in sorted(per_shard.items()):
        for result in validation["results"]:
            key = json.dumps([result["expectation"], result["kwargs"]], sort_keys=True, default=str)
            entry = merged.setdefault(key, {"expectation": result["expectation"], "kwargs": result["kwargs"],
                                            "success": True, "observed": {}, "failed_shards": []})
            entry["observed"][shard] = result["observed"]
            if not result["success"]:
                entry["success"] = False
                entry["failed_shards"].append(shard)
    results = list(merged.values())
    return {"success": all(r["success"] for r in results), "shards": len(per_shard), "results": results}
