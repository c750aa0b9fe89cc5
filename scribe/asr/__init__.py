"""Speech recognition: the only package that imports faster_whisper (and its VAD runtime)."""
