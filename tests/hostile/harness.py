"""Running the real `hostmap` command on hostile input: offline, memory-capped, timed, measured.

Every run is `sys.executable -m hostmap ...` in a subprocess, so what is
checked is what a user sees: exit code, stdout, stderr, files written; each
run is reaped with `os.wait4` for its peak RSS.  With HOSTMAP_TEST_ZYGOTE=1
the runs are forked instead from a zygote (tests/hostile/_zygote.py), an
interpreter started once per session with the same environment and guard
that has imported hostmap; the child runs hostmap/__main__.py as `python -m`
does.  That spares each run ~1.7 s of CPU, but a forked child's peak RSS
counts the zygote's pages, so it reads far higher than a fresh start's (a
100,000-entry HAR: ~600 MiB forked under load vs ~300 MiB fresh) and the
memory bounds are only meaningful on fresh runs, the default.  A test
compares the two.

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
is measured per run as the child's VmHWM, which the guard writes at exit
(`_peak_kib` says why not wait4's ru_maxrss, the fallback).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

_peak_file = os.environ.pop("HOSTMAP_TEST_PEAK_FILE", None)
if _peak_file:
    import atexit

    def _write_peak():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    with open(_peak_file, "w") as out:
                        out.write(line.split()[1])

    atexit.register(_write_peak)
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
                memory_limit: int = DEFAULT_MEMORY_LIMIT, outputs: Iterable[Path] = (),
                fresh: bool | None = None) -> Run:
    """Run `python -m hostmap ARGS` guarded; kill it after `timeout` seconds.

    By default every run starts a new interpreter, as a user's does.  With
    HOSTMAP_TEST_ZYGOTE=1 (or `fresh=False`) the run is a child forked from
    the session's zygote instead (see tests/hostile/_zygote.py: the same
    guard, environment, limit and exit handling, without paying for the
    imports again): about 2.5x faster, but its peak RSS reads high (the
    zygote's own pages count in every child), so the memory bounds can fail
    under it on a loaded machine.
    """
    if fresh is None:
        fresh = not os.environ.get("HOSTMAP_TEST_ZYGOTE")
    if not fresh:
        zygote = _zygote()
        if zygote is not None:
            return _finish(tuple(str(a) for a in args), outputs,
                           lambda stdout, stderr, workdir: zygote.run(
                               [str(a) for a in args], stdout, stderr, workdir, timeout,
                               memory_limit))
    return run_python("-m", "hostmap", *args, timeout=timeout, memory_limit=memory_limit,
                      outputs=outputs)


def _environment(memory_limit: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "PYTHONSTARTUP", "PYTHONINSPECT", "COLUMNS",
                        "HOSTMAP_TEST_AS_LIMIT")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(_guard())] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if memory_limit is not None:
        env["HOSTMAP_TEST_AS_LIMIT"] = str(memory_limit)
    env["TERM"] = "dumb"
    env["COLUMNS"] = "300"  # wide enough that values are not folded inside a table cell
    return env


def run_python(*args: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT,
               memory_limit: int = DEFAULT_MEMORY_LIMIT, outputs: Iterable[Path] = ()) -> Run:
    """Run `python ARGS` (this interpreter) with the guard; kill it after `timeout` seconds."""
    argv = tuple(str(a) for a in args)
    env = _environment(memory_limit)

    def start(stdout: Path, stderr: Path, workdir: Path) -> tuple[int, int, float, bool]:
        peak = workdir / "peak-rss"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            begin = time.monotonic()
            proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err,
                                    env={**env, "HOSTMAP_TEST_PEAK_FILE": str(peak)},
                                    cwd=workdir, start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not timed_out and time.monotonic() - begin > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)  # not reaped yet: the id is still ours
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        return status, _peak_kib(peak, usage.ru_maxrss), time.monotonic() - begin, timed_out

    shown = argv[2:] if argv[:2] == ("-m", "hostmap") else argv
    return _finish(shown, outputs, start)


def _peak_kib(peak: Path, ru_maxrss: int) -> int:
    """The child's own peak RSS: VmHWM, which its guard writes at exit.

    `ru_maxrss` from wait4 is not that: Linux carries the high-water mark of
    the memory the process had before exec into it, and subprocess starts
    the child with vfork, so it reads at least the RSS of this pytest process
    (~490 MiB late in a full run, where hostmap itself peaked at ~300 MiB).
    It stays the fallback where the child died before its exit handlers ran
    (killed, or ended with os._exit): an over-estimate, never an under-one.
    """
    try:
        return int(peak.read_text())
    except (OSError, ValueError):
        return ru_maxrss


def _finish(shown: tuple[str, ...], outputs: Iterable[Path],
            start: Callable[[Path, Path, Path], tuple[int, int, float, bool]]) -> Run:
    """Make a working folder, run, collect stdout, stderr and the files written."""
    workdir = Path(tempfile.mkdtemp(dir=scratch(), prefix="run-"))
    stdout, stderr = workdir / "stdout", workdir / "stderr"
    stdout.touch()
    stderr.touch()
    status, max_rss, seconds, timed_out = start(stdout, stderr, workdir)
    result = Run(shown, os.waitstatus_to_exitcode(status), stdout.read_bytes(),
                 stderr.read_bytes(), max_rss, seconds, timed_out)
    shutil.rmtree(workdir, ignore_errors=True)
    for path in outputs:
        if path.exists():
            result.outputs[str(path)] = path.read_bytes()
    return result


class _Zygote:
    """The forking server of tests/hostile/_zygote.py and the runs waiting on it."""

    def __init__(self) -> None:
        self.log = (scratch() / "zygote.stderr").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_zygote.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env=_environment(None), cwd=scratch(), start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.lock = threading.Lock()
        self.ids = itertools.count()
        self.waiting: dict[int, queue.SimpleQueue[dict[str, Any]]] = {}
        ready = json.loads(self.stdout.readline() or b"{}")
        if not ready.get("ready"):
            raise RuntimeError("the zygote did not start")
        threading.Thread(target=self._replies, daemon=True).start()
        atexit.register(self.close)
        # A forked child shares the interpreter's file-backed pages (libraries, mapped
        # modules) without counting them in its RSS until it touches them, so its peak RSS
        # reads lower than a fresh start's.  The gap for the same command is added to every
        # zygote run: the bounds are checked against what a fresh `python -m hostmap`
        # would show, or more.
        self.rss_offset = 0
        fresh = run_python("-m", "hostmap", "--version", timeout=120)
        forked = _finish(("--version",), (), lambda out, err, folder: self.run(
            ["--version"], out, err, folder, 120, DEFAULT_MEMORY_LIMIT))
        if fresh.returncode != 0 or forked.returncode != 0 or forked.out != fresh.out:
            raise RuntimeError("a zygote run differs from a fresh one")
        self.rss_offset = max(0, fresh.max_rss_kib - forked.max_rss_kib)

    def _replies(self) -> None:
        for line in self.stdout:
            reply = json.loads(line)
            with self.lock:
                box = self.waiting.get(reply["id"])
            if box is not None:
                box.put(reply)
        with self.lock:
            for box in self.waiting.values():
                box.put({"lost": True})

    def run(self, argv: list[str], stdout: Path, stderr: Path, workdir: Path, timeout: float,
            memory_limit: int) -> tuple[int, int, float, bool]:
        box: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        with self.lock:
            number = next(self.ids)
            self.waiting[number] = box
        begin = time.monotonic()
        self._send({"id": number, "argv": argv, "cwd": str(workdir), "stdout": str(stdout),
                    "stderr": str(stderr), "as_limit": memory_limit})
        started = box.get(timeout=60)
        if started.get("lost"):
            raise RuntimeError("the zygote ended")
        timed_out = False
        while True:
            left = timeout - (time.monotonic() - begin)
            try:
                done = box.get(timeout=max(left, 0.01) if not timed_out else 60)
                break
            except queue.Empty:
                if timed_out:
                    raise RuntimeError("a killed run was not reaped") from None
                timed_out = True
                self._send({"kill": number})  # the zygote kills it if it is not reaped yet
        with self.lock:
            del self.waiting[number]
        if done.get("lost"):
            raise RuntimeError("the zygote ended")
        return (done["status"], done["maxrss"] + self.rss_offset, time.monotonic() - begin,
                timed_out)

    def _send(self, request: dict[str, Any]) -> None:
        with self.lock:
            self.stdin.write(json.dumps(request).encode() + b"\n")
            self.stdin.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)
        self.log.close()


_ZYGOTE_LOCK = threading.Lock()
_ZYGOTES: list[_Zygote | None] = []


def _zygote() -> _Zygote | None:
    """The session's zygote, started by the first run that asks (None if it cannot start:
    the runs are then fresh interpreters)."""
    with _ZYGOTE_LOCK:  # run_many's threads all ask at once
        if not _ZYGOTES:
            try:
                _ZYGOTES.append(_Zygote())
            except (OSError, RuntimeError, ValueError):
                _ZYGOTES.append(None)
        return _ZYGOTES[0]


Job = tuple[Sequence[object], Iterable[Path], float]
"""A run to make: its arguments, the files it writes (read back into `Run.outputs`), timeout."""


def run_many(jobs: Sequence[Job], *, workers: int | None = None) -> list[Run]:
    """Run several commands, `workers` at a time, and return them in the order of `jobs`.

    The default is two runs per core (at least four): a run waits on its files and on
    other processes of a shared machine part of the time, and a forked run costs no
    start-up, so more runs than cores keep the cores busy."""
    workers = workers or max(4, 2 * (os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(
            lambda job: run_hostmap(*map(str, job[0]), outputs=job[1], timeout=job[2]), jobs))
