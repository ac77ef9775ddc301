"""The Distil-Whisper pipeline as an Airflow DAG (weekly, catchup off): wiring only.

Every task calls the same stage function as ``distil-pipeline <stage>`` and
``dvc repro``; the DAG is built from the stage registry by
``components.adapters.airflow``. Settings are ``DISTIL_PIPELINE_*``
environment variables (see that module); the data root defaults to this
repository.
"""

from pathlib import Path

from components.adapters.airflow import build_dag

dag = build_dag(repo_root=Path(__file__).resolve().parents[1])
