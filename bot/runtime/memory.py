"""Keep a long-running process's memory flat: glibc's allocator tuned the way its own manual advises.

Measured by bench/soak.py: with glibc's defaults, `newsbrief run` grew about 7 MB a minute after warm-up
(432 to 496 MB in nine minutes) while tracemalloc saw the Python heap grow about 3 MB a minute, mostly the
dense passage index, which grows with the archive; with these settings it grew about 1 MB a minute.
Two glibc behaviours cause the difference: every thread that allocates may get an arena of its own (up to eight per
core; the ingest and to_thread pools keep starting threads), and the mmap threshold rises after each
large free, so the embedder's and lxml's multi-megabyte buffers end up in those arenas and fragment them.
Capping the arenas and fixing the threshold keeps large buffers in mmap, returned to the system on free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

# From glibc's malloc.h.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENA_MAX = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value; setting it turns off the dynamic rise


def tune_allocator() -> bool:
    """Apply the settings on glibc (call it early, before threads start); False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = bool(mallopt(M_ARENA_MAX, ARENA_MAX)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    log.debug("allocator tuned: %s", applied)
    return applied
