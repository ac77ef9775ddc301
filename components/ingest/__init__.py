"""ingest: read corpora in their native release layouts into one manifest.

Each corpus has one reader, ``read_<corpus>(root) -> Iterator[SourceItem | Rejection]``,
registered in ``corpora.CORPORA``; ``stage.ingest`` runs the wanted ones and
writes the records (audio referenced by path, not copied), the rejections and
the summary. Readers never drop anything silently: a missing or unreadable
audio file, an empty transcript or a segment marked to ignore becomes a
``Rejection`` with a reason and the file it came from.
"""
