"""publish: the release folder (weights, processor, model card) and one tagged Hub commit when the rules pass."""
