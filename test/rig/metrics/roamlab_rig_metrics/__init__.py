"""Roamlab test rig: a stand-in for jupyter-resource-usage's GET {base_url}api/metrics/v1.

Loads as a jupyter_server 2 extension (JupyterHub 5.2's jupyterhub-singleuser) and as a classic
notebook 6.4 server extension (JupyterHub 3.0 with notebook.notebookapp.NotebookApp).
See test/rig/metrics/README.md.
"""

ENDPOINT = 'api/metrics/v1'


def _jupyter_server_extension_points():
    return [{'module': 'roamlab_rig_metrics'}]


def _load_jupyter_server_extension(serverapp):
    """jupyter_server 2 (ServerApp)."""
    from jupyter_server.utils import url_path_join

    from .server_handler import MetricsHandler

    web_app = serverapp.web_app
    base_url = web_app.settings['base_url']
    web_app.settings['roamlab_rig_metrics_root_dir'] = getattr(serverapp, 'root_dir', None)
    web_app.add_handlers('.*$', [(url_path_join(base_url, ENDPOINT), MetricsHandler)])
    serverapp.log.info('roamlab_rig_metrics: serving %s', url_path_join(base_url, ENDPOINT))


def _load_notebook_extension(nbapp):
    """Classic notebook 6.x (NotebookApp)."""
    from notebook.utils import url_path_join

    from .notebook_handler import MetricsHandler

    web_app = nbapp.web_app
    base_url = web_app.settings['base_url']
    web_app.settings['roamlab_rig_metrics_root_dir'] = getattr(nbapp, 'notebook_dir', None)
    web_app.add_handlers('.*$', [(url_path_join(base_url, ENDPOINT), MetricsHandler)])
    nbapp.log.info('roamlab_rig_metrics: serving %s', url_path_join(base_url, ENDPOINT))


def load_jupyter_server_extension(app):
    """The entry point notebook 6.x calls (and jupyter_server's legacy fallback)."""
    is_notebook = any(
        cls.__module__ == 'notebook.notebookapp' and cls.__name__ == 'NotebookApp' for cls in type(app).__mro__
    )
    if is_notebook:
        _load_notebook_extension(app)
    else:
        _load_jupyter_server_extension(app)
