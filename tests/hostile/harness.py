"""Running the real `hostmap` command on hostile input: offline, memory-capped, timed, measured.

Every run is `sys.executable -m hostmap ...` in a subprocess, so what is
checked is what a user sees: exit code, stdout, stderr, files written.

The network guard: the subprocess gets a folder holding a `sitecustomize.py`
first on PYTHONPATH.  Python imports `sitecustomize` at start-up (site.py),
before hostmap, so the guard is in place for the whole run: it replaces
`socket.socket.connect/connect_ex/sendto/sendmsg` and `socket.getaddrinfo`,
`gethostbyname(_ex)`, `gethostbyaddr`, `getnameinfo`, `create_connection`
with a function that writes `HOSTMAP-NETWORK-GUARD` and the call to stderr
and ends the process at once with exit code 97 (`os._exit`, so no `except`
in the code under test can swallow it).  `test_network_guard_is_active`
proves the guard works; every other run asserts the code is not 97 and the
marker is absent.

The same `sitecustomize` caps the address space (RLIMIT_AS, 3 GiB unless a
run asks otherwise) so that an input that makes hostmap allocate without
bound ends in a MemoryError instead of taking the machine down.  Peak memory
is measured per run with `os.wait4`, which returns the child's own rusage
(ru_maxrss, KiB on Linux).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.hostile import build_corpus
from tests.hostile.build_corpus import Hostile

__all__ = ["GUARD_EXIT", "GUARD_MARK", "Job", "Run", "corpus", "run_hostmap", "run_many",
           "run_python", "scratch"]

GUARD_EXIT = 97
GUARD_MARK = "HOSTMAP-NETWORK-GUARD"
DEFAULT_MEMORY_LIMIT = 3 * 2**30
DEFAULT_TIMEOUT = 120.0

_GUARD_SOURCE = f'''\
"""Test guard written by tests/hostile/harness.py: no network, bounded address space."""
import os
import resource
import socket
import sys

_limit = os.environ.get("HOSTMAP_TEST_AS_LIMIT")
if _limit:
    resource.setrlimit(resource.RLIMIT_AS, (int(_limit), int(_limit)))


def _refuse(*args, **kwargs):
    sys.stderr.write("{GUARD_MARK}: network access attempted: %r\\n" % (args,))
    sys.stderr.flush()
    os._exit({GUARD_EXIT})


for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    setattr(socket.socket, _name, _refuse)
for _name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
              "gethostbyaddr", "getnameinfo"):
    setattr(socket, _name, _refuse)
'''


@functools.cache
def scratch() -> Path:
    """A private temporary folder for this test session, removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="hostmap-hostile-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def _guard() -> Path:
    folder = scratch() / "guard"
    folder.mkdir(exist_ok=True)  # functools.cache does not stop two threads racing here
    (folder / "sitecustomize.py").write_text(_GUARD_SOURCE, encoding="utf-8")
    return folder


@functools.cache
def corpus() -> tuple[Path, tuple[Hostile, ...]]:
    """The hostile corpus, built once per session (collection needs its file list)."""
    root = scratch() / "corpus"
    return root, tuple(build_corpus.build(root))


@dataclass(slots=True)
class Run:
    """One finished `hostmap` run."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    max_rss_kib: int
    seconds: float
    timed_out: bool
    outputs: dict[str, bytes] = field(default_factory=dict)
    """Files the run was told to write (-o), by the path given."""

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    def describe(self) -> str:
        tail = self.err[-3000:]
        return (f"hostmap {' '.join(self.args)}\n  exit {self.returncode}"
                f"{' (timed out)' if self.timed_out else ''}, {self.seconds:.1f} s, "
                f"max RSS {self.max_rss_kib // 1024} MiB\n  stderr: {tail!r}")


def run_hostmap(*args: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT,
                memory_limit: int = DEFAULT_MEMORY_LIMIT, outputs: Iterable[Path] = ()) -> Run:
    """Run `python -m hostmap ARGS` guarded; kill it after `timeout` seconds."""
    return run_python("-m", "hostmap", *args, timeout=timeout, memory_limit=memory_limit,
                      outputs=outputs)


def run_python(*args: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT,
               memory_limit: int = DEFAULT_MEMORY_LIMIT, outputs: Iterable[Path] = ()) -> Run:
    """Run `python ARGS` (this interpreter) with the guard; kill it after `timeout` seconds."""
    argv = tuple(str(a) for a in args)
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "PYTHONSTARTUP", "PYTHONINSPECT", "COLUMNS")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(_guard())] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["HOSTMAP_TEST_AS_LIMIT"] = str(memory_limit)
    env["TERM"] = "dumb"
    env["COLUMNS"] = "300"  # wide enough that values are not folded inside a table cell
    workdir = Path(tempfile.mkdtemp(dir=scratch(), prefix="run-"))
    with (workdir / "stdout").open("w+b") as stdout, (workdir / "stderr").open("w+b") as stderr:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr, env=env, cwd=workdir,
                                start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not timed_out and time.monotonic() - start > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)  # not reaped yet: the id is still ours
            time.sleep(0.02)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        shown = argv[2:] if argv[:2] == ("-m", "hostmap") else argv
        result = Run(shown, proc.returncode, stdout.read(), stderr.read(), usage.ru_maxrss,
                     seconds, timed_out)
    shutil.rmtree(workdir, ignore_errors=True)
    for path in outputs:
        if path.exists():
            result.outputs[str(path)] = path.read_bytes()
    return result



Job = tuple[Sequence[object], Iterable[Path], float]
"""A run to make: its arguments, the files it writes (read back into `Run.outputs`), timeout."""


def run_many(jobs: Sequence[Job], *, workers: int = 2) -> list[Run]:
    """Run several commands, `workers` at a time (this machine has two cores), in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(
            lambda job: run_hostmap(*map(str, job[0]), outputs=job[1], timeout=job[2]), jobs))
