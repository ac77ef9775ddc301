"""VoxPopuli (transcribed English) reader: ``transcribed_data/en/asr_{train,dev,test}.tsv`` + ``.ogg`` segments.

This is the layout VoxPopuli's own ``get_asr_data`` writes, and the one its
release describes: one TSV per split (tab-separated, header ``id raw_text
normalized_text speaker_id split gender``, newer files add
``is_gold_transcript accent``) and one Ogg segment per row at
``transcribed_data/en/<year>/<id>.ogg`` (``<year>`` = the id's first four
characters). One group per TSV; one item per row; the text is
``normalized_text`` (lower case, as ESB uses it).

Our own reader. lhotse's ``prepare_voxpopuli`` reads a different layout, the
unsegmented session recordings (``raw_audios/<lang>/<year>/*.ogg``) plus
``asr_<lang>.tsv.gz`` with segment times, which it downloads when absent; it
cannot read the released segments, so it serves here only as the reference
for the fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from components.core.errors import PipelineError
from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, group_file, layout_groups, native_split, reject

CORPUS = "voxpopuli"
LANGUAGE = "en"
LAYOUT = (f"transcribed_data/{LANGUAGE}/asr_{{train,dev,test}}.tsv files with "
          f"transcribed_data/{LANGUAGE}/<year>/<id>.ogg beside them")
SPLITS = {"asr_train": "train", "asr_dev": "validation", "asr_test": "test"}
REQUIRED_COLUMNS = ("id", "normalized_text", "speaker_id")


def groups(root: Path) -> list[str]:
    """The split TSVs of the English transcribed data."""
    return layout_groups(root, [f"transcribed_data/{LANGUAGE}/{name}.tsv" for name in SPLITS], LAYOUT)


def read(root: Path, group: str) -> Iterator[SourceItem | Rejection]:
    """Every row of one split TSV, in file order."""
    root = Path(root)
    tsv = group_file(root, group, LAYOUT)
    split = native_split(SPLITS, tsv.stem, tsv)
    lines = [line.removesuffix("\r") for line in tsv.read_text(encoding="utf-8").split("\n")]
    header = lines[0].split("\t") if lines else []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise PipelineError(f"{tsv}: header lacks column(s) {', '.join(missing)}; expected a VoxPopuli ASR TSV "
                            f"with {', '.join(REQUIRED_COLUMNS)}, ...")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header) or not fields[header.index("id")].strip():
            yield reject(CORPUS, f"{tsv.stem}:{number}", "malformed_line",
                         f"{group}:{number}: {len(fields)} fields, header has {len(header)}")
            continue
        row = dict(zip(header, fields))
        segment = tsv.parent / row["id"][:4] / f"{row['id']}.ogg"
        yield file_item(root, CORPUS, row["id"], split, segment, row["normalized_text"], row["speaker_id"])
