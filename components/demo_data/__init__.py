"""demo-data: miniature speech corpora in their native release layouts.

espeak-ng speaks the project's own sentences (``sentences.py``) with varied
voices, rates, pitches and light noise; the clips are written as tiny copies of
the corpora Distil-Whisper trains on, exactly as those releases lay out their
files (``layouts.LAYOUTS``): LibriSpeech, TED-LIUM 3 and Common Voice 13 by
default, and GigaSpeech, Fisher, Switchboard, VoxPopuli, AMI (ihm, sdm) and
People's Speech on request, so the ingest readers are tested on the real
formats offline. Entry point: ``components.demo_data.stage.make_demo_data``.
"""
