"""The chat protocol without I/O: frames, their codec, identity rules and a session's state."""
