"""normalise: 16 kHz mono audio, duration bounds, per-corpus text rules, packing to <=30 s."""
