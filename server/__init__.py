"""The edges of Everturn: the command line now; HTTP, websocket and auth (issue 3)."""
