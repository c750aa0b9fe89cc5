"""diarize package."""
