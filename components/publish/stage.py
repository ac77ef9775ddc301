"""publish stage: build the exact release folder; release it to the Hub when the gate passed and a token is set."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components import __version__
from components.core.errors import ConfigError, PipelineError
from components.core.outputs import read_json, staged_output, write_json
from components.publish import hub
from components.publish.model_card import model_card
from components.publish.release import RELEASE_FILES, copy_model_files, provenance, release_digest
from components.publish.released import released_rules

STATUS_FILE = "publish.json"
CARD_FILE = "README.md"
# Statuses an orchestrator keys on.
PUBLISHED, UNCHANGED, NO_TOKEN, GATE_FAILED, DRY_RUN = "published", "unchanged", "no_token", "gate_failed", "dry_run"
KNOWN_LICENCES = {"openai/whisper-": "apache-2.0", "distil-whisper/": "mit"}
__all__ = ["RELEASE_FILES", "PublishConfig", "publish"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishConfig:
    """Where the student goes on the Hub, the card's metadata, the release rules and the upload's retries.

    The token is never a param: it comes from ``HF_TOKEN`` (set by the Airflow
    connection or the Kubernetes secret in the orchestrators).
    """

    repo_id: str = "your-name/distil-whisper-demo"
    private: bool = True
    require_gate: bool = True
    base_model: str = "openai/whisper-tiny.en"   # the teacher, as the card's base_model
    license: str | None = None                   # null: the base model's licence
    released_margin: float | None = 0.0          # student WER <= released WER x (1 + margin); null: rule off
    tag: str = "v{version}-{digest}"             # {version}: package version, {digest}: release content hash
    dry_run: bool = False                        # build the folder, list the operations, send nothing
    commit_retries: int = 3
    retry_backoff_s: float = 2.0
    dvc_lock: str = "dvc.lock"                   # provenance, when present (else the inputs' content hashes)

    def __post_init__(self) -> None:
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(self.repo_id)
        except HFValidationError as err:
            raise ConfigError(f"publish.repo_id: invalid Hub repo id {self.repo_id!r}: {err}") from err
        if "/" not in self.repo_id:
            raise ConfigError(f"publish.repo_id: {self.repo_id!r} needs a namespace, e.g. your-name/model")
        try:
            self.tag.format(version="0", digest="0")
        except (KeyError, IndexError) as err:
            raise ConfigError(f"publish.tag: only {{version}} and {{digest}} may appear, got {self.tag!r}") from err
        if self.commit_retries < 0 or self.retry_backoff_s < 0:
            raise ConfigError("publish: commit_retries and retry_backoff_s must be >= 0")


def licence(cfg: PublishConfig) -> str:
    """The card's licence: the param, else the base model's (known families), else an error naming the param."""
    if cfg.license:
        return cfg.license
    for prefix, name in KNOWN_LICENCES.items():
        if cfg.base_model.startswith(prefix):
            return name
    raise PipelineError(f"publish.license: the licence of base model {cfg.base_model!r} is not known here; "
                        "set publish.license (the teacher's licence)")


def build_release(student: Path, evaluation: Path, out: Path, cfg: PublishConfig, metrics: dict[str, Any]) -> list[str]:
    """Weights, processor files and the model card in ``out``; returns the release's file names."""
    names = copy_model_files(student, out)
    training = read_json(student / "training.json")
    layers_file = student / "student_layers.json"
    layers = read_json(layers_file) if layers_file.is_file() else {}
    card = model_card(cfg.repo_id, metrics, training, layers, metrics.get("gate", {}),
                      provenance(student, evaluation, Path(cfg.dvc_lock)), cfg.base_model, licence(cfg))
    (out / CARD_FILE).write_text(card)
    return sorted(names + [CARD_FILE])


def _operations(cfg: PublishConfig, folder: Path, names: list[str], tag: str) -> list[str]:
    adds = [f"add {n} ({(folder / n).stat().st_size} bytes)" for n in names]
    return [f"create_repo {cfg.repo_id} (private={cfg.private}) unless it exists",
            f"create_commit {cfg.repo_id} on the head of main (parent_commit), {len(names)} files: " + "; ".join(adds),
            f"create_tag {tag} on that commit (none when nothing changed and the tag is there)"]


def release_to_hub(folder: Path, names: list[str], tag: str, metrics: dict[str, Any], cfg: PublishConfig,
                   token: str) -> dict[str, Any]:
    """Read the released model, apply the rule against it, then one commit and the tag."""
    api = hub.hub_api(token)
    head = hub.read_head(api, cfg.repo_id)
    rules = released_rules(head.card, metrics, cfg.released_margin, first_release=head.sha is None)
    failed = [n for n, r in rules.items() if r["verdict"] == "failed"]
    if failed:
        return {"status": GATE_FAILED, "detail": f"release rule(s) failed: {', '.join(failed)}; nothing was written",
                "repo_id": cfg.repo_id, "rules": rules}
    parent = head.sha if head.sha is not None else hub.create_repo(api, cfg.repo_id, cfg.private).sha
    oid = hub.commit_release(api, cfg.repo_id, folder, names, parent, f"Release {tag}", cfg.commit_retries,
                             cfg.retry_backoff_s)
    tagged = hub.tag_release(api, cfg.repo_id, tag, oid)
    status = UNCHANGED if oid == parent else PUBLISHED
    detail = (f"{cfg.repo_id}: nothing changed since {oid}" if status == UNCHANGED
              else f"{cfg.repo_id}: commit {oid} tagged {tag}")
    return {"status": status, "detail": detail, "repo_id": cfg.repo_id, "commit": oid, "parent": parent,
            "tag": tag, "tag_created": tagged, "rules": rules}


def publish(student: Path, eval: Path, dst: Path, cfg: PublishConfig) -> dict[str, Any]:
    """Build the release folder in ``dst``; release it when the gate passed and ``HF_TOKEN`` is set.

    Returns (and writes to ``publish.json``) a status an orchestrator keys on:
    ``published`` (a new commit and tag), ``unchanged`` (nothing to commit),
    ``gate_failed`` (a release rule failed: no request was sent, or, for the
    rule against the released model, only reads), ``no_token`` (folder only)
    or ``dry_run`` (folder and the operations it would send).
    """
    metrics = read_json(Path(eval) / "metrics.json")
    with staged_output(dst) as out:
        names = build_release(Path(student), Path(eval), out, cfg, metrics)
    dst = Path(dst)
    tag = cfg.tag.format(version=__version__, digest=release_digest(dst, names)[:12])
    gate = metrics.get("gate", {})
    token = os.environ.get("HF_TOKEN")
    if cfg.require_gate and not gate.get("passed"):
        failed = gate.get("failed") or [n for n, r in gate.get("rules", {}).items() if not r.get("passed")]
        status = {"status": GATE_FAILED, "detail": f"release gate failed: {', '.join(failed) or 'see metrics.json'};"
                                                   " nothing was sent to the Hub", "gate": gate}
    elif cfg.dry_run:
        status = {"status": DRY_RUN, "detail": "dry run: nothing was sent", "repo_id": cfg.repo_id, "tag": tag,
                  "operations": _operations(cfg, dst, names, tag)}
        for line in status["operations"]:
            log.info("publish (dry run) would send: %s", line)
    elif not token:
        status = {"status": NO_TOKEN,
                  "detail": f"HF_TOKEN not set; release folder built, not uploaded to {cfg.repo_id}"}
    else:
        status = release_to_hub(dst, names, tag, metrics, cfg, token)
    write_json(dst / STATUS_FILE, status)
    log.info("publish: %s (%s)", status["status"], status["detail"])
    return status
