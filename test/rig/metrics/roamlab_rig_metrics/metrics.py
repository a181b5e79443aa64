"""Resource readings in jupyter-resource-usage's /api/metrics/v1 format (server-agnostic).

Mirrors jupyter_resource_usage.api.ApiHandler.get (1.x) with track_cpu_percent=True and
track_disk_usage=True; see ../README.md for the fields and how this differs from the package.
"""
import os

import psutil

MEM_WARNING_THRESHOLD = 0.1  # ResourceUseDisplay.mem_warning_threshold default
CPU_WARNING_THRESHOLD = 0.1  # ResourceUseDisplay.cpu_warning_threshold default
DISK_WARNING_THRESHOLD = 0.1  # ResourceUseDisplay.disk_warning_threshold default


def _env_number(name, cast):
    value = os.environ.get(name, '').strip()
    if not value:
        return cast(0)
    try:
        return cast(value)
    except ValueError:
        return cast(float(value))


def _threshold(name, default):
    value = os.environ.get(name, '').strip()
    if not value:
        return default
    return float(value)


def process_tree():
    """The server process and all its descendants (kernels, terminals, ...)."""
    cur = psutil.Process()
    try:
        return [cur] + cur.children(recursive=True)
    except psutil.Error:
        return [cur]


def memory(processes):
    """(rss, pss or None), summed over processes, like the real handler (memory_full_info)."""
    rss = 0
    pss = None
    for p in processes:
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if hasattr(info, 'pss'):
            pss = (pss or 0) + info.pss
        rss += info.rss
    return rss, pss


def cpu_percent(processes, interval=0.05):
    """Sum of per-process cpu_percent(interval) (blocking: run it off the event loop)."""
    total = 0.0
    for p in processes:
        try:
            total += p.cpu_percent(interval=interval)
        except Exception:  # noqa: BLE001 - the real handler swallows dead processes too
            pass
    return float(total)


def disk_path(root_dir=None):
    """The directory whose file system is reported: the server's root dir, else $HOME, else cwd."""
    for candidate in (os.environ.get('ROAMLAB_METRICS_DISK_PATH'), root_dir, os.environ.get('HOME'), os.getcwd()):
        if candidate and os.path.isdir(candidate):
            return candidate
    return '/'


def collect(root_dir=None):
    """The metrics document (a dict) the handler serves. Blocking (~50 ms per process)."""
    processes = process_tree()
    rss, pss = memory(processes)

    mem_limit = _env_number('MEM_LIMIT', int)
    mem_threshold = _threshold('MEM_WARNING_THRESHOLD', MEM_WARNING_THRESHOLD)
    limits = {'memory': {'rss': mem_limit, 'pss': mem_limit}}
    if mem_limit and mem_threshold != 0:
        limits['memory']['warn'] = (mem_limit - rss) < (mem_limit * mem_threshold)

    metrics = {'rss': rss, 'limits': limits}
    if pss is not None:
        metrics['pss'] = pss

    # track_cpu_percent=True
    cpu_count = psutil.cpu_count()
    cpu = cpu_percent(processes)
    cpu_limit = _env_number('CPU_LIMIT', float)
    if cpu_limit != 0:
        limits['cpu'] = {'cpu': cpu_limit}
        if CPU_WARNING_THRESHOLD != 0:
            limits['cpu']['warn'] = (cpu_limit - cpu) < (cpu_limit * CPU_WARNING_THRESHOLD)
    metrics.update(cpu_percent=cpu, cpu_count=cpu_count)

    # track_disk_usage=True
    try:
        disk = psutil.disk_usage(disk_path(root_dir))
    except Exception:  # noqa: BLE001 - like the real handler: no disk fields then
        pass
    else:
        metrics.update(disk_used=disk.used, disk_total=disk.total)
        limits['disk'] = {'disk': disk.total}
        if DISK_WARNING_THRESHOLD != 0:
            limits['disk']['warn'] = (disk.total - disk.used) < (disk.total * DISK_WARNING_THRESHOLD)

    return metrics
