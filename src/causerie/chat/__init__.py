"""Chat actions (enter, rooms, messages, conversations) and node-local delivery."""
