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

from components.core.manifest import Rejection
from components.ingest.items import SourceItem, file_item, group_file, layout_groups, native_split, tsv_rows

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
    for row in tsv_rows(tsv, group, CORPUS, REQUIRED_COLUMNS, "VoxPopuli ASR TSV", key="id"):
        if isinstance(row, Rejection):
            yield row
            continue
        segment = tsv.parent / row["id"][:4] / f"{row['id']}.ogg"
        yield file_item(root, CORPUS, row["id"], split, segment, row["normalized_text"], row["speaker_id"])
