"""distil-whisper-pipeline: raw speech corpora in, a distilled Whisper on the Hub out.

Every stage is a plain function ``stage(src, dst, cfg) -> StageReport`` that reads
a directory and writes a directory; ``components.cli`` exposes them as the
``distil-pipeline`` console script used by DVC, containers, Airflow and KFP.
"""

__version__ = "0.1.0"
