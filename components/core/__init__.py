"""Shared core: configs, errors, manifests, audio and text helpers."""
