"""filter: keep a sample only when WER(normalised pseudo-label, normalised reference) < threshold."""
