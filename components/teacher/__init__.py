"""The teacher: import a Whisper checkpoint (CTranslate2, Hub id or local) as 🤗 Transformers."""
