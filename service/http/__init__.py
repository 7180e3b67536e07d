"""The HTTP face of the service: the FastAPI app, its routers and middleware."""
