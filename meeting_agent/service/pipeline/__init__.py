"""Processing a task: fetch → decode → transcribe → speaker mappings → minutes → done."""
