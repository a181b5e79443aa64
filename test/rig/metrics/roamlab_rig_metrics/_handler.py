"""The GET body shared by both handler classes."""
import asyncio
import json

from .metrics import collect


async def get_metrics(handler):
    root_dir = handler.settings.get('roamlab_rig_metrics_root_dir')
    # collect() blocks ~50 ms per process (cpu_percent interval): keep it off the event loop.
    metrics = await asyncio.get_running_loop().run_in_executor(None, collect, root_dir)
    handler.set_header('Content-Type', 'application/json')
    handler.write(json.dumps(metrics))
