"""Classic notebook 6.x handler."""
from notebook.base.handlers import APIHandler
from tornado import web

from ._handler import get_metrics


class MetricsHandler(APIHandler):
    @web.authenticated
    async def get(self):
        await get_metrics(self)
