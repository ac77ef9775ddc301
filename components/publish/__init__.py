"""publish: build the release folder (weights, processor, model card, results); upload when the gate passed and a token is set."""
