"""Cloud providers behind the ASR and LLM ports, and what they share: keys, retries, errors."""
