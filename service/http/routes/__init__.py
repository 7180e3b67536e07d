"""One APIRouter per concern; `service/http/app.py` includes them all."""
