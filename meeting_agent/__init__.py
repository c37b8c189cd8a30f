"""meeting-agent: meeting recordings in, speaker-labelled transcripts and minutes out."""

__version__ = "0.1.0"
