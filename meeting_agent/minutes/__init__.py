"""Minutes: the schema, the extractive generator and LLM generation with map-reduce."""
