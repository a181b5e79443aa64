# JupyterHub configuration for Roamlab's test rig.
#
# One file for both hubs the integration tests run:
#   jh5: JupyterHub 5.2 (Debian 13 chroot), single-user = jupyterhub-singleuser + JupyterLab 4
#   jh3: JupyterHub 3.0 (Debian 12 host),   single-user = classic notebook 6.4
#
# Driven entirely by environment variables that test/rig/hubs.ts sets:
#   ROAMLAB_RIG_FLAVOR           'jh5' | 'jh3' (default: from the hub's major version)
#   ROAMLAB_RIG_PORT             public proxy port
#   ROAMLAB_RIG_BIND_IP          address the public proxy listens on (default 127.0.0.1; 0.0.0.0 when
#                                the hub runs in a network namespace of test/rig/netns.ts). The hub
#                                itself always talks to the proxy at 127.0.0.1.
#   ROAMLAB_RIG_PREFIX           base_url path prefix, e.g. '/' or '/jhub/'
#   ROAMLAB_RIG_HUB_PORT         hub's internal port
#   ROAMLAB_RIG_PROXY_API_PORT   configurable-http-proxy's REST API port
#   ROAMLAB_RIG_RUN_DIR          per-run directory: sqlite db, cookie secret, homes, logs
#   ROAMLAB_RIG_RUN_ID           tag put into every spawned process's environment
#   ROAMLAB_RIG_PASSWORD         DummyAuthenticator's shared password
#   ROAMLAB_RIG_ADMIN_TOKEN      API token of the 'roamlab-rig' service (admin scopes)
#   ROAMLAB_RIG_CLASS_KEY        user_options key (default: 'profile' on jh5, 'notebook_class' on jh3)
#   ROAMLAB_RIG_SLOW_SECONDS     how long the 'slow' class queues before starting (default 6)
#   ROAMLAB_RIG_TINY_RUNTIME     runtime limit of the 'tiny' class in seconds (default 180)
#   ROAMLAB_RIG_SLOW_SPAWN_TIMEOUT  seconds the spawn request waits before answering 202 (default 3)
#   ROAMLAB_RIG_PROXY_CMD        configurable-http-proxy executable (default /usr/bin/configurable-http-proxy)
#   ROAMLAB_RIG_SHORT_RUNTIME    when set: add the 'short' class (1 GB, 1 core) with this runtime limit in seconds
#   ROAMLAB_RIG_SUBDOMAIN_HOST   when set: JupyterHub.subdomain_host (each user's server on a host of its own)
#   ROAMLAB_RIG_PUBLIC_URL       when set: JupyterHub.public_url (the address the hub names in absolute redirects,
#                                e.g. a single-user server's OAuth redirect to the hub)
#   ROAMLAB_RIG_METRICS_DIR      when set: directory holding the roamlab_rig_metrics package and its config
#                                (test/rig/metrics, as the hub sees it); single-user servers then serve
#                                jupyter-resource-usage's api/metrics/v1. Unset: no such endpoint (404).
# ruff: noqa
import asyncio
import html
import os
import secrets
import shlex
import sys

import jupyterhub
from jupyterhub.auth import Authenticator, DummyAuthenticator
from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado import web

c = get_config()  # noqa: F821 (provided by traitlets' config loader)

HUB_MAJOR = int(jupyterhub.__version__.split('.')[0])


def env(name, default=None):
    value = os.environ.get(name)
    if value is None or value == '':
        if default is None:
            raise RuntimeError(f'roamlab rig: environment variable {name} is required')
        return default
    return value


FLAVOR = env('ROAMLAB_RIG_FLAVOR', 'jh5' if HUB_MAJOR >= 5 else 'jh3')
PORT = int(env('ROAMLAB_RIG_PORT'))
BIND_IP = env('ROAMLAB_RIG_BIND_IP', '127.0.0.1')
PREFIX = env('ROAMLAB_RIG_PREFIX', '/')
if not PREFIX.startswith('/'):
    PREFIX = '/' + PREFIX
if not PREFIX.endswith('/'):
    PREFIX = PREFIX + '/'
HUB_PORT = int(env('ROAMLAB_RIG_HUB_PORT'))
PROXY_API_PORT = int(env('ROAMLAB_RIG_PROXY_API_PORT'))
RUN_DIR = env('ROAMLAB_RIG_RUN_DIR')
RUN_ID = env('ROAMLAB_RIG_RUN_ID', 'roamlab-rig')
PASSWORD = env('ROAMLAB_RIG_PASSWORD')
ADMIN_TOKEN = env('ROAMLAB_RIG_ADMIN_TOKEN')
CLASS_KEY = env('ROAMLAB_RIG_CLASS_KEY', 'profile' if FLAVOR == 'jh5' else 'notebook_class')
SLOW_SECONDS = float(env('ROAMLAB_RIG_SLOW_SECONDS', '6'))
TINY_RUNTIME = int(env('ROAMLAB_RIG_TINY_RUNTIME', '180'))
SLOW_SPAWN_TIMEOUT = float(env('ROAMLAB_RIG_SLOW_SPAWN_TIMEOUT', '3'))
PROXY_CMD = env('ROAMLAB_RIG_PROXY_CMD', '/usr/bin/configurable-http-proxy')
SHORT_RUNTIME = os.environ.get('ROAMLAB_RIG_SHORT_RUNTIME') or None
METRICS_DIR = os.environ.get('ROAMLAB_RIG_METRICS_DIR') or None
SUBDOMAIN_HOST = os.environ.get('ROAMLAB_RIG_SUBDOMAIN_HOST') or None

os.makedirs(RUN_DIR, exist_ok=True)

# --- network -------------------------------------------------------------------------------
# bind_url stays on loopback even when the proxy listens on more: with 0.0.0.0 there, the hub would
# wait for the proxy at socket.gethostname(), which the chroot cannot resolve.
c.JupyterHub.bind_url = f'http://127.0.0.1:{PORT}{PREFIX}'
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = HUB_PORT
c.ConfigurableHTTPProxy.api_url = f'http://127.0.0.1:{PROXY_API_PORT}'
if BIND_IP == '127.0.0.1':
    c.ConfigurableHTTPProxy.command = [PROXY_CMD]
else:
    # The hub appends '--ip 127.0.0.1 --port ...' to this command; a later --ip wins in CHP's
    # option parser (commander), so the proxy listens on BIND_IP. exec: the pid stays the proxy's.
    c.ConfigurableHTTPProxy.command = ['/bin/sh', '-c', f'exec "$0" "$@" --ip {shlex.quote(BIND_IP)}', PROXY_CMD]
if SUBDOMAIN_HOST:
    c.JupyterHub.subdomain_host = SUBDOMAIN_HOST
if os.environ.get('ROAMLAB_RIG_PUBLIC_URL'):
    c.JupyterHub.public_url = os.environ['ROAMLAB_RIG_PUBLIC_URL']
c.ConfigurableHTTPProxy.auth_token = secrets.token_hex(32)
c.ConfigurableHTTPProxy.pid_file = os.path.join(RUN_DIR, 'proxy.pid')
c.ConfigurableHTTPProxy.should_start = True

# --- state ---------------------------------------------------------------------------------
c.JupyterHub.db_url = 'sqlite:///' + os.path.join(RUN_DIR, 'jupyterhub.sqlite')
c.JupyterHub.cookie_secret_file = os.path.join(RUN_DIR, 'jupyterhub_cookie_secret')
c.JupyterHub.pid_file = os.path.join(RUN_DIR, 'jupyterhub.pid')
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
# Spawn requests answer 202 (pending) after this long; the 'slow' class always ends up there.
c.JupyterHub.tornado_settings = {'slow_spawn_timeout': SLOW_SPAWN_TIMEOUT}

# --- auth ----------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = DummyAuthenticator
c.DummyAuthenticator.password = PASSWORD
if 'allow_all' in Authenticator.class_trait_names():  # JupyterHub >= 5
    c.Authenticator.allow_all = True
c.JupyterHub.allow_named_servers = True

# --- admin service token for the tests -----------------------------------------------------
ADMIN_SCOPES = [
    'admin-ui',
    'admin:users',
    'admin:servers',
    'tokens',
    'admin:groups',
    'list:services',
    'read:services',
    'read:hub',
    'proxy',
    'access:services',
    'access:servers',
    'read:roles',
    'read:metrics',
]
if HUB_MAJOR >= 5:
    ADMIN_SCOPES += ['admin:services', 'shares']
c.JupyterHub.services = [{'name': 'roamlab-rig', 'api_token': ADMIN_TOKEN}]
c.JupyterHub.load_roles = [
    {
        'name': 'roamlab-rig-admin',
        'description': 'Roamlab test rig: set up and tear down users, servers and tokens',
        'scopes': ADMIN_SCOPES,
        'services': ['roamlab-rig'],
    }
]

# --- notebook classes ----------------------------------------------------------------------
# name -> (label, memory, cores, runtime seconds or None, detail)
NOTEBOOK_CLASSES = {
    'tiny': {'label': 'Tiny', 'mem': '400M', 'mem_text': '400 MB', 'cores': 1, 'runtime': TINY_RUNTIME},
    'small': {'label': 'Small', 'mem': '2G', 'mem_text': '2 GB', 'cores': 1, 'runtime': None},
    'medium': {'label': 'Medium', 'mem': '4G', 'mem_text': '4 GB', 'cores': 2, 'runtime': None},
    'slow': {'label': 'Slow', 'mem': '1G', 'mem_text': '1 GB', 'cores': 1, 'runtime': None, 'slow': True},
}
if SHORT_RUNTIME:
    # Opt-in (other tests expect exactly the four classes above in the form).
    NOTEBOOK_CLASSES['short'] = {
        'label': 'Short',
        'mem': '1G',
        'mem_text': '1 GB',
        'cores': 1,
        'runtime': int(SHORT_RUNTIME),
    }
DEFAULT_CLASS = 'small'


def class_description(name):
    k = NOTEBOOK_CLASSES[name]
    cores = '1 core' if k['cores'] == 1 else f"{k['cores']} cores"
    text = f"{k['mem_text']}, {cores}"
    if k['runtime']:
        minutes = k['runtime'] / 60
        text += f", {minutes:g} min" if minutes < 60 else f", {minutes / 60:g} h"
    if k.get('slow'):
        text += ', waits for a slot'
    return text


def options_form_profiles():
    """ProfilesSpawner-style <select name="profile">."""
    opts = []
    for name, k in NOTEBOOK_CLASSES.items():
        sel = ' selected' if name == DEFAULT_CLASS else ''
        opts.append(
            f'<option value="{html.escape(name)}"{sel}>{html.escape(k["label"])}: {html.escape(class_description(name))}</option>'
        )
    return (
        f'<label for="{CLASS_KEY}">Notebook class</label>\n'
        f'<select class="form-control" name="{CLASS_KEY}" id="{CLASS_KEY}">\n  '
        + '\n  '.join(opts)
        + '\n</select>\n'
    )


def options_form_kubespawner():
    """KubeSpawner-style profile list: one radio input per class, each with a label."""
    items = []
    for name, k in NOTEBOOK_CLASSES.items():
        checked = ' checked' if name == DEFAULT_CLASS else ''
        ident = f'profile-item-{name}'
        items.append(
            f'<label for="{ident}" class="form-control input-group">\n'
            f'  <div class="col-md-1"><input type="radio" name="{CLASS_KEY}" id="{ident}" value="{html.escape(name)}"{checked} /></div>\n'
            f'  <div class="col-md-11"><strong>{html.escape(k["label"])}</strong> - {html.escape(class_description(name))}</div>\n'
            f'</label>'
        )
    return '<div class="form-group" id="kubespawner-profiles-list">\n' + '\n'.join(items) + '\n</div>\n'


class RigSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner (runs servers as the hub's own user) with notebook classes."""

    def _rig_init(self):
        if not hasattr(self, '_rig_events'):
            self._rig_events = []
            self._rig_done = False

    def options_from_form(self, formdata):
        value = (formdata.get(CLASS_KEY) or [DEFAULT_CLASS])[0]
        return {CLASS_KEY: value}

    def _notebook_class(self):
        options = self.user_options or {}
        name = options.get(CLASS_KEY, DEFAULT_CLASS)
        if not isinstance(name, str) or name not in NOTEBOOK_CLASSES:
            raise web.HTTPError(400, "Unknown notebook class '%s'" % (name,))
        return name

    def get_env(self):
        env = super().get_env()
        env['ROAMLAB_RIG_RUN_ID'] = RUN_ID
        name = getattr(self, '_rig_class', None)
        if name:
            k = NOTEBOOK_CLASSES[name]
            env['CPU_LIMIT'] = str(k['cores'])
            env['ROAMLAB_NOTEBOOK_CLASS'] = name
            if k['runtime']:
                env['ROAMLAB_RUNTIME_LIMIT'] = str(k['runtime'])
        if FLAVOR == 'jh3':
            env['JUPYTERHUB_SINGLEUSER_APP'] = 'notebook.notebookapp.NotebookApp'
        return env

    async def progress(self):
        self._rig_init()
        sent = 0
        while True:
            while sent < len(self._rig_events):
                yield self._rig_events[sent]
                sent += 1
            if self._rig_done:
                break
            await asyncio.sleep(0.2)
        yield {'progress': 90, 'message': 'Starting the notebook server…'}

    async def start(self):
        self._rig_events = []
        self._rig_done = False
        name = self._notebook_class()  # raises 400 for unknown classes, before anything starts
        k = NOTEBOOK_CLASSES[name]
        self._rig_class = name
        self.mem_limit = k['mem']
        self.cpu_limit = float(k['cores'])
        try:
            if k.get('slow'):
                steps = 3
                for i in range(1, steps + 1):
                    self._rig_events.append(
                        {'progress': 10 + 20 * (i - 1), 'message': f'Waiting for a slot ({i}/{steps})…'}
                    )
                    await asyncio.sleep(SLOW_SECONDS / steps)
                self._rig_events.append({'progress': 70, 'message': 'Slot acquired, starting server'})
        finally:
            self._rig_done = True
        if k['runtime']:
            # Like a batch system's wall-clock limit: the job just dies; the hub notices on poll.
            self.cmd = ['/usr/bin/timeout', '--kill-after=5', f"{k['runtime']}s"] + list(self._rig_base_cmd)
        else:
            self.cmd = list(self._rig_base_cmd)
        return await super().start()


if FLAVOR == 'jh5':
    RigSpawner._rig_base_cmd = ['/usr/bin/jupyterhub-singleuser']
    c.Spawner.args = ['--allow-root', '--ServerApp.allow_root=True']
    c.Spawner.default_url = '/lab'
else:
    RigSpawner._rig_base_cmd = ['/usr/bin/jupyterhub-singleuser']
    c.Spawner.args = ['--allow-root', '--NotebookApp.allow_root=True']
    c.Spawner.default_url = '/tree'

# --- resource metrics (stand-in for jupyter-resource-usage, test/rig/metrics) ---------------
# Enabled the way the real package is: a jupyter_server_config.d / jupyter_notebook_config.d JSON
# file on the server's config path, with the package importable.
if METRICS_DIR:
    _metrics_config = os.path.join(METRICS_DIR, 'config', 'server' if FLAVOR == 'jh5' else 'notebook')
    c.Spawner.environment = {
        'PYTHONPATH': METRICS_DIR,
        'JUPYTER_CONFIG_PATH': _metrics_config,
        'PYTHONDONTWRITEBYTECODE': '1',
    }

c.JupyterHub.spawner_class = RigSpawner
c.Spawner.options_form = options_form_profiles() if FLAVOR == 'jh5' else options_form_kubespawner()
c.Spawner.cmd = list(RigSpawner._rig_base_cmd)
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(RUN_DIR, 'home', '{username}')
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.poll_interval = 10
c.Spawner.env_keep = ['PATH', 'LANG', 'LC_ALL', 'PYTHONPATH', 'NODE_PATH', 'JUPYTERHUB_SINGLEUSER_APP']
# No idle culling: no cull service configured, and servers never shut themselves down.
c.JupyterHub.last_activity_interval = 300

c.JupyterHub.log_level = env('ROAMLAB_RIG_LOG_LEVEL', 'INFO')
print(
    f'roamlab rig: {FLAVOR} JupyterHub {jupyterhub.__version__} (python {sys.version.split()[0]}) '
    f'on {BIND_IP}:{PORT}{PREFIX} class key {CLASS_KEY!r}',
    file=sys.stderr,
    flush=True,
)
