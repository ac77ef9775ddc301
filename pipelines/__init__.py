"""Kubeflow pipelines of distil-whisper-pipeline, with their compiled YAML."""
