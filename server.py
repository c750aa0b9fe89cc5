"""FastAPI app factory (the desk and review server). Built out in the server issue."""
