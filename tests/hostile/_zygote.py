"""A hostmap start-up shared by many test runs: import once, fork one child per run.

`python -m hostmap` spends most of a small run importing (mitmproxy, DuckDB,
pyarrow, dnspython: ~1.7 s of CPU of ~2.5 s).  This process is started once
per test session by tests/hostile/harness.py, with the same environment and
the same network guard (`sitecustomize.py` first on PYTHONPATH) that a
`python -m hostmap` subprocess gets; it imports hostmap and then, per request,
forks a child that does what `python -m hostmap ARGS` does after its imports:

- its own session (so a timeout kills its whole process group), working
  folder, stdin from /dev/null, stdout and stderr into the files asked for;
- the address-space limit of the run (RLIMIT_AS, as the guard sets it);
- `runpy.run_module("hostmap", run_name="__main__")`: hostmap/__main__.py
  runs as the main module, so click sees `python -m hostmap` as in a real
  start; SystemExit, an uncaught exception (traceback on stderr, exit 1) and
  atexit handlers behave as at interpreter exit.

The parent never runs hostmap code itself; it reaps each child with
`os.wait4` and reports the exit status and the child's own peak RSS, as the
subprocess path does.  Protocol: one JSON object per line; requests on stdin
{"id", "argv", "cwd", "stdout", "stderr", "as_limit"}; replies on stdout
{"id", "pid"} when forked, then {"id", "status", "maxrss"} when reaped; a request
{"kill": id} kills that run's process group if it has not been reaped (a timeout).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import runpy
import select
import signal
import sys
import traceback

PRELOAD = ("hostmap.cli", "hostmap.graph", "hostmap.ingest._pdns_bulk", "rich.table",
           "rich.progress")


def _child(request: dict) -> None:
    code = 1
    try:
        os.setsid()
        os.chdir(request["cwd"])
        limit = int(request["as_limit"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
            os.close(source)
        sys.argv = ["-m", *request["argv"]]  # runpy puts hostmap/__main__.py first
        try:
            runpy.run_module("hostmap", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                sys.stderr.write(f"{exc.code}\n")
                code = 1
        except BaseException:  # as the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _reply(message: dict) -> None:
    os.write(_REPLIES, (json.dumps(message) + "\n").encode())


def main() -> None:
    for name in PRELOAD:
        __import__(name)
    _reply({"ready": True})
    children: dict[int, object] = {}
    pending = b""
    open_input = True
    while open_input or children:
        if open_input:
            readable, _, _ = select.select([0], [], [], 0.01)
            if readable:
                data = os.read(0, 65536)
                if not data:
                    open_input = False
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    request = json.loads(line)
                    if "kill" in request:  # a timeout: only a child not reaped yet is ours
                        for pid, number in children.items():
                            if number == request["kill"]:
                                try:
                                    os.killpg(pid, signal.SIGKILL)
                                except ProcessLookupError:
                                    pass
                        continue
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        os.close(_REPLIES)
                        _child(request)
                    children[pid] = request["id"]
                    _reply({"id": request["id"], "pid": pid})
        else:
            select.select([], [], [], 0.01)
        while children:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if not pid:
                break
            _reply({"id": children.pop(pid), "status": status, "maxrss": usage.ru_maxrss})


_REPLIES = os.dup(1)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing but replies may reach the pipe

if __name__ == "__main__":
    main()
