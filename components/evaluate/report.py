"""The evaluation report (``report.html`` + ``report.md``) through the shared renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.core.render import FAILED, PASSED, Check, Figure, Report, Section, Table, Text, write_report
from components.evaluate.plots import WER_PNG


def _ci(m: dict[str, Any]) -> str:
    low, high = m["wer_ci95"]
    return f"{m['wer']:.3f} [{low:.3f}, {high:.3f}]"


def _wer_table(metrics: dict[str, Any]) -> Table:
    sets = list(metrics["sets"])
    header = ["system", *[f"{s} ({metrics['sets'][s]['distribution']})" for s in sets], "in-dist.", "out-of-dist.",
              "overall"]
    rows = [[name, *[_ci(m["sets"][s]) for s in sets], m["wer_in_distribution"], m["wer_out_of_distribution"], m["wer"]]
            for name, m in metrics["systems"].items()]
    return Table(header, rows, digits=3)


def _hallucination_table(metrics: dict[str, Any]) -> Table:
    rows = [[name, s, m["insertion_rate"], m["substitution_rate"], m["deletion_rate"], m["dup5"],
             m["dup5_per_1k_words"], m["mean_generated_tokens"]]
            for name, system in metrics["systems"].items() for s, m in system["sets"].items()]
    return Table(["system", "set", "insertion", "substitution", "deletion", "5-Dup.", "5-Dup. / 1k words",
                  "tokens / utt."], rows, digits=4)


def _speed_table(speed: dict[str, Any]) -> Table:
    rows = [[name, speed["rtfx_batch_1"].get(name), rtfx, speed["tokens_per_second"][name]]
            for name, rtfx in speed["rtfx_batch_n"].items()]
    return Table(["system", "RTFx batch 1", f"RTFx batch {speed['batch_size']}", "tokens / s"], rows, digits=2)


def _long_form(metrics: dict[str, Any], speed: dict[str, Any]) -> list[Any]:
    long = metrics["long_form"]
    if not long.get("recordings"):
        return [Text(f"not measured: {long.get('note', '')}")]
    rows = [[name, algs["sequential"]["wer"], algs["chunked"]["wer"],
             speed.get("long_form_rtfx", {}).get(name, {}).get("sequential"),
             speed.get("long_form_rtfx", {}).get(name, {}).get("chunked")]
            for name, algs in long["systems"].items()]
    return [Text(f"{long['recordings']} recordings, {long['audio_seconds']} s, of {', '.join(long['corpora'])}; "
                 f"chunked: {long['chunk_length_s']} s chunks"),
            Table(["system", "sequential WER", "chunked WER", "sequential RTFx", "chunked RTFx"], rows, digits=3)]


def _speculative(metrics: dict[str, Any], speed: dict[str, Any]) -> list[Any]:
    spec = metrics["speculative"]
    if not spec.get("records"):
        return [Text("not measured (speculative.records is 0)")]
    timing = speed.get("speculative", {})
    return [Check("output identical to the teacher's", PASSED if spec["identical_to_teacher"] == spec["records"]
                  else FAILED, f"{spec['identical_to_teacher']} of {spec['records']} utterances"),
            Text(f"Speed-up at batch 1 (greedy): {timing.get('speedup')}x "
                 f"({timing.get('teacher_seconds')} s alone, {timing.get('assisted_seconds')} s assisted)")]


def _gate_checks(gate: dict[str, Any]) -> list[Check]:
    return [Check(name, r["verdict"], f"value {r['value']}, limit {r['limit']}. {r['detail']}".strip())
            for name, r in gate["rules"].items()]


def evaluation_report(out: Path, metrics: dict[str, Any], speed: dict[str, Any]) -> Report:
    """The report: WER with 95 % intervals per set, hallucination measures, gate, speed, plot."""
    gate = metrics["gate"]
    sets = ", ".join(f"{n}: {s['records']} utt. ({s['dropped_empty_reference']} empty refs dropped)"
                     for n, s in metrics["sets"].items())
    summary = (f"{metrics['records']} utterances, {metrics['audio_hours']} h; release gate "
               f"{'passed' if gate['passed'] else 'failed: ' + ', '.join(gate['failed'])}")
    sections = [
        Section("WER (Whisper English normaliser; 95 % bootstrap interval)", [Text(sets), _wer_table(metrics)]),
        Section("Hallucination (per reference word; repeated 5-grams)", [_hallucination_table(metrics)]),
        Section("Long-form (recordings over 30 s; sequential and chunked)", _long_form(metrics, speed)),
        Section("Speculative decoding (student assisting the teacher, batch 1)", _speculative(metrics, speed)),
        Section(f"Release gate (sets: {', '.join(gate['sets'])})", _gate_checks(gate) or [Text("no rule is on")]),
        Section("Speed (wall clock, this machine; kept out of metrics.json)",
                [_speed_table(speed), Text(f"Student speed-up over the teacher at batch {speed['batch_size']}: "
                                           f"{speed['student_speedup_vs_teacher']}x")]),
    ]
    if (out / WER_PNG).is_file():
        sections.append(Section("Plot", [Figure(out / WER_PNG, "WER by set and system")]))
    return Report("Evaluation: teacher, student at init, student", PASSED if gate["passed"] else FAILED, summary,
                  sections)


def write_evaluation_report(out: Path, metrics: dict[str, Any], speed: dict[str, Any]) -> str:
    """Write ``report.html`` and ``report.md`` into ``out``; returns the Markdown (for the task log)."""
    paths = write_report(evaluation_report(out, metrics, speed), out)
    return paths["md"].read_text()
