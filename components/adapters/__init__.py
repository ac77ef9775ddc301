"""Adapters built from the stage registry: dvc.yaml, the Airflow DAG, the KFP pipeline."""
