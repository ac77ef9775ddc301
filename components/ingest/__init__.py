"""ingest: read corpora in their native release layouts into one manifest.

Each corpus is registered once in ``corpora.CORPORA`` as a ``Corpus``:
``groups(root)`` lists its source groups (transcript files, TSVs, talks,
meetings, parquet files) and ``read(root, group)`` yields every item of one
group as a ``SourceItem`` or a ``Rejection``; ``stage.ingest`` fans out over
corpora and groups and writes the records (audio referenced, not copied), the
rejections and the summary. Readers never drop anything silently: a missing or
unreadable audio file, an empty transcript, a line that does not parse or a
segment marked as non-speech becomes a ``Rejection`` with a reason and the
file (and line) it came from.
"""
