"""The local narrator: a GGUF model behind a deadline, its prompts, and the cleaning of what it writes."""
