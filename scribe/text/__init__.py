"""Text after recognition: Mandarin typesetting, hallucination filtering, metric normalisation."""
