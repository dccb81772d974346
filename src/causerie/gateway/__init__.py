"""The wire: HTTP and WebSocket. It moves frames between sockets and the chat service."""
