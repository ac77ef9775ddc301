"""pseudo-label: the teacher transcribes every selected sample (greedy, batched)."""
