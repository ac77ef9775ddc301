"""The model card (README.md): huggingface_hub's ModelCard, ModelCardData and EvalResult.

The ``model-index`` has one result per evaluation set; each set's name is its
dataset ``config`` (and a single-corpus set's dataset type is the corpus's Hub
id), so the Hub keeps them apart and the next release can read them back.
Deterministic: no timestamps, no timings; the same inputs give the same bytes.
"""

from __future__ import annotations

from typing import Any

import yaml

# Corpus -> Hub dataset id, for the card's ``datasets`` and the results' dataset type.
CORPUS_DATASETS = {
    "librispeech": "openslr/librispeech_asr", "tedlium": "LIUM/tedlium",
    "commonvoice": "mozilla-foundation/common_voice_16_1",
    "gigaspeech": "speechcolab/gigaspeech", "voxpopuli": "facebook/voxpopuli", "ami_ihm": "edinburghcstr/ami",
    "ami_sdm": "edinburghcstr/ami", "peoples_speech": "MLCommons/peoples_speech", "switchboard": "ldc/switchboard",
    "fisher": "ldc/fisher",
}
TASK = "automatic-speech-recognition"


def eval_sets(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set name -> {distribution, split, corpora, student measures}; one set for an older metrics.json."""
    student = metrics["systems"]["student"]
    if "sets" in metrics and "sets" in student:
        return {n: {**s, "student": student["sets"][n]} for n, s in metrics["sets"].items()}
    split = metrics.get("split", "test")
    corpora = sorted(student.get("wer_by_corpus", {}))
    return {split: {"split": split, "corpora": corpora, "distribution": "in", "student": {"wer": student["wer"]}}}


def _dataset_type(name: str, info: dict[str, Any]) -> str:
    corpora = info["corpora"]
    return CORPUS_DATASETS.get(corpora[0], corpora[0]) if len(corpora) == 1 else f"distil-whisper-pipeline/{name}"


def card_data(repo_id: str, metrics: dict[str, Any], base_model: str, license: str, corpora: list[str]):
    """ModelCardData with base_model, datasets, language, licence, library and the model-index."""
    from huggingface_hub import EvalResult, ModelCardData

    results = [EvalResult(task_type=TASK, task_name="Automatic Speech Recognition",
                          dataset_type=_dataset_type(name, info),
                          dataset_name=f"{name} ({', '.join(info['corpora']) or 'all corpora'}, {info['split']})",
                          dataset_config=name, dataset_split=info["split"], metric_type="wer",
                          metric_value=round(100 * info["student"]["wer"], 2), metric_name="WER (%)")
               for name, info in eval_sets(metrics).items()]
    return ModelCardData(model_name=repo_id, base_model=base_model, language=["en"], license=license,
                         library_name="transformers", pipeline_tag=TASK,
                         datasets=sorted({CORPUS_DATASETS.get(c, c) for c in corpora}),
                         tags=["distil-whisper", "whisper", "distillation"], eval_results=results)


def _results_table(metrics: dict[str, Any]) -> str:
    systems = metrics["systems"]
    lines = ["| set | distribution | teacher WER | student-init WER | student WER [95 % CI] | insertions "
             "| 5-Dup. / 1k words |", "|---|---|---|---|---|---|---|"]
    for name, info in eval_sets(metrics).items():
        s = info["student"]
        ci = f" [{s['wer_ci95'][0]:.3f}, {s['wer_ci95'][1]:.3f}]" if "wer_ci95" in s else ""
        other = {k: systems[k].get("sets", {}).get(name, {}).get("wer", systems[k]["wer"])
                 for k in ("teacher", "student_init")}
        lines.append(f"| {name} | {info['distribution']} | {other['teacher']:.3f} | {other['student_init']:.3f} "
                     f"| {s['wer']:.3f}{ci} | {s.get('insertion_rate', '')} | {s.get('dup5_per_1k_words', '')} |")
    return "\n".join(lines)


def _more_results(metrics: dict[str, Any]) -> str:
    """Long-form WER per algorithm and speculative-decoding exactness, when evaluate measured them."""
    lines = []
    long = metrics.get("long_form", {})
    if long.get("recordings"):
        wers = {alg: m["wer"] for alg, m in long["systems"]["student"].items()}
        teacher = {alg: m["wer"] for alg, m in long["systems"]["teacher"].items()}
        lines.append(f"- Long-form ({long['recordings']} recordings, {long['audio_seconds']} s): student WER "
                     f"sequential {wers['sequential']:.3f}, "
                     f"chunked ({long['chunk_length_s']} s) {wers['chunked']:.3f}; "
                     f"teacher {teacher['sequential']:.3f} / {teacher['chunked']:.3f}")
    spec = metrics.get("speculative", {})
    if spec.get("records"):
        lines.append(f"- Speculative decoding (this model assisting the teacher): {spec['identical_to_teacher']} of "
                     f"{spec['records']} outputs identical to the teacher's")
    return "\n".join(lines)


def _gate_lines(gate: dict[str, Any]) -> str:
    lines = [f"- {name}: {r.get('verdict', 'passed' if r.get('passed') else 'failed')} "
             f"(value {r.get('value')}, limit {r.get('limit')}){' - ' + r['detail'] if r.get('detail') else ''}"
             for name, r in gate.get("rules", {}).items()]
    return "\n".join(lines) or "- no rule recorded"


def card_body(repo_id: str, metrics: dict[str, Any], training: dict[str, Any], layers: dict[str, Any],
              gate: dict[str, Any], provenance: dict[str, Any]) -> str:
    """The Markdown below the metadata: what the model is, training, results, gate, provenance, usage."""
    config = training.get("config", {})
    return f"""
# {repo_id}

A distilled Whisper built with distil-whisper-pipeline, following Distil-Whisper
(arXiv 2311.00430): the teacher's encoder (frozen) and {len(layers.get('student_decoder_layers', []))} decoder
layers copied from teacher layers {layers.get('student_decoder_layers')}, trained on teacher
pseudo-labels that passed a WER filter, with loss
{config.get('ce_weight')} x CE + {config.get('kl_weight')} x KL at temperature {config.get('temperature')}.

- Parameters: {layers.get('student_parameters', 0):,} (teacher: {layers.get('teacher_parameters', 0):,})
- Training: {training.get('train_records')} filtered samples, {training.get('steps')} steps \
({training.get('epochs')} epochs), final loss {training.get('final_loss')}

## Evaluation ({metrics.get('records')} utterances, {metrics.get('audio_hours')} h)

WER after Whisper's English normaliser; utterances with an empty normalised reference dropped.

{_results_table(metrics)}

{_more_results(metrics)}

## Release gate

{_gate_lines(gate)}

## Training parameters

```yaml
{yaml.safe_dump(config, sort_keys=True).strip()}
```

## Provenance

```yaml
{yaml.safe_dump(provenance, sort_keys=True).strip()}
```

## Usage

```python
from transformers import pipeline
asr = pipeline("automatic-speech-recognition", model="{repo_id}")
print(asr("speech.flac", generate_kwargs={{"num_beams": 1}})["text"])
```
"""


def model_card(repo_id: str, metrics: dict[str, Any], training: dict[str, Any], layers: dict[str, Any],
               gate: dict[str, Any], provenance: dict[str, Any], base_model: str, license: str) -> str:
    """The whole README.md: YAML metadata (ModelCardData) and the body."""
    from huggingface_hub import ModelCard

    corpora = sorted({c for info in eval_sets(metrics).values() if info["distribution"] == "in"
                      for c in info["corpora"]})
    data = card_data(repo_id, metrics, base_model, license, corpora)
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n" + card_body(repo_id, metrics, training, layers, gate, provenance))
    return str(card)
