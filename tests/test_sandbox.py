"""The sandbox for model-written code: every hostile program ends as a scored failure with its reason, never as a
crash, a hang or a side effect. Real processes, a real listening socket, the real home directory."""

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mathcoach.tools.sandbox import Isolation, Limits, isolation, run_python

FAST = Limits(cpu_s=2, wall_s=6)
ISO = isolation()
needs_root_isolation = pytest.mark.skipif(not (ISO.network and ISO.own_user),
                                          reason=f"this machine gives only: {ISO.level}")


def test_a_plain_program_runs_and_its_output_comes_back():
    r = run_python("import math\nprint(math.comb(10, 3) * 6)", FAST)
    assert r.ok and r.error is None and r.stdout == "720\n" and r.returncode == 0 and r.isolation == ISO.level


def test_an_exception_is_a_failure_with_its_last_line():
    r = run_python("def solution():\n    return 1 / 0\nprint(solution())", FAST)
    assert not r.ok and r.error.startswith("exit 1: ZeroDivisionError") and "Traceback" in r.stderr


def test_the_error_names_the_exception_when_another_traceback_header_ends_stderr():
    # a fork bomb's children write into the same stderr, so the last line can be another traceback's first
    prog = "import sys\nsys.stderr.write('ValueError: bad\\nTraceback (most recent call last):\\n')\nsys.exit(1)"
    r = run_python(prog, FAST)
    assert not r.ok and r.error == "exit 1: ValueError: bad"


def test_an_infinite_loop_stops_at_the_cpu_limit():
    t0 = time.monotonic()
    r = run_python("while True:\n    pass", FAST)
    assert not r.ok and r.error == "cpu time limit" and time.monotonic() - t0 < FAST.wall_s


def test_a_sleeping_program_stops_at_the_wall_limit():
    r = run_python("import time\ntime.sleep(60)", Limits(cpu_s=2, wall_s=1.5))
    assert not r.ok and r.error == "timeout" and r.seconds < 5


def test_a_memory_bomb_is_a_memory_limit():
    r = run_python("x = bytearray(10 ** 10)", FAST)
    assert not r.ok and r.error == "memory limit"
    r = run_python("xs = []\nwhile True:\n    xs.append('a' * 10 ** 7)", FAST)
    assert not r.ok and r.error == "memory limit"


def test_output_is_capped():
    r = run_python("while True:\n    print('x' * 1000)", Limits(cpu_s=2, wall_s=6, output_bytes=4096))
    assert not r.ok and r.error == "output limit" and 0 < len(r.stdout) <= 4096


def test_the_environment_is_empty_so_no_key_reaches_the_program(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-not-leak")
    r = run_python("import os\nprint(sorted(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))", FAST)
    assert r.ok and "must-not-leak" not in r.stdout and "API_KEY" not in r.stdout


@needs_root_isolation
def test_a_fork_bomb_ends_quickly_and_leaves_no_process():
    t0 = time.monotonic()
    r = run_python("import os\nwhile True:\n    os.fork()", FAST)
    assert not r.ok and "BlockingIOError" in r.error and time.monotonic() - t0 < FAST.wall_s
    assert not _live_sandbox_processes(), "a forked child outlived its run"
    # a child that leaves the process group and would sleep on after its parent exits is killed too
    r = run_python("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nprint('parent done')", FAST)
    assert r.ok and r.stdout == "parent done\n"
    assert not _live_sandbox_processes(), "a setsid child outlived its run"


def _live_sandbox_processes(wait_s: float = 3.0) -> list[str]:
    """Processes of sandbox uids that still run (killed ones may show as zombies until init reaps them)."""
    deadline = time.monotonic() + wait_s
    while True:
        rows = subprocess.run(["ps", "-eo", "uid=,stat="], capture_output=True, text=True).stdout.splitlines()
        live = [r for r in rows if r.split()[0].isdigit() and int(r.split()[0]) >= 2_000_000_000
                and not r.split()[1].startswith("Z")]
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.1)


@needs_root_isolation
def test_no_connection_reaches_a_server_on_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'x')\nprint('sent')"
    r = run_python(code, FAST)
    t.join()
    server.close()
    assert not r.ok and "sent" not in r.stdout and "unreachable" in r.error.lower()
    assert accepted == []


@needs_root_isolation
def test_nothing_outside_its_temp_dir_can_be_written():
    target = Path.home() / f"mathcoach-sandbox-{os.getpid()}.txt"
    r = run_python(f"open({str(target)!r}, 'w').write('pwned')", FAST)
    assert not r.ok and "PermissionError" in r.error and not target.exists()
    r = run_python("open('scratch.txt', 'w').write('ok')\nprint(open('scratch.txt').read())", FAST)
    assert r.ok and r.stdout == "ok\n"  # its own temp dir is writable


def test_a_machine_without_namespaces_says_so_in_the_isolation_level():
    weak = Isolation(network=False, own_user=False, interpreter=ISO.interpreter)
    r = run_python("print(1)", FAST, iso=weak)
    assert r.ok and "no network" not in r.isolation and "own uid" not in r.isolation
    assert ("no network" in ISO.level) == ISO.network
