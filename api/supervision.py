"""Supervision of the embedded stack: a child that exits is restarted while the others keep serving.

Procfile runners (honcho, foreman) stop every process as soon as one exits: one crashed worker
would take the API and Redis down with it. supervisord is the well-kept supervisor for exactly
this: it restarts an exited program at once, backs off (1 s, 2 s, 3 s, ...) when one keeps dying
during start-up, logs every exit and spawn, and stops the programs in reverse priority order on
SIGTERM or SIGINT (Redis last). The Procfile stays the one list of commands.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import secrets
import shlex
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 2  # a program that lives this long counts as started; dying sooner backs off
START_RETRIES = 10  # quick deaths in a row before supervisord gives the program up (FATAL)
STOP_SECONDS = 15  # between SIGTERM and SIGKILL; gunicorn's graceful timeout is 10 s
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class Program:
    """One supervised process. Lower priorities start first and stop last."""

    name: str
    command: list[str]
    priority: int = 100


def procfile_programs(procfile: Mapping[str, str]) -> list[Program]:
    """Programs from Procfile entries; a leading `exec` (there for shells) is dropped."""
    programs = []
    for name, line in procfile.items():
        argv = shlex.split(line)
        if argv and argv[0] == "exec":
            argv = argv[1:]
        programs.append(Program(name, argv))
    return programs


def _escape(value: str) -> str:
    """supervisord expands `%(name)s` in values: a literal percent sign is written twice."""
    return value.replace("%", "%%")


def _program_section(program: Program, cwd: Path) -> str:
    command = " ".join(shlex.quote(arg) for arg in program.command)
    return f"""
[program:{program.name}]
command={_escape(command)}
directory={_escape(str(cwd))}
priority={program.priority}
autostart=true
autorestart=true
startsecs={START_SECONDS}
startretries={START_RETRIES}
stopsignal=TERM
stopwaitsecs={STOP_SECONDS}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
"""


def render_config(programs: Iterable[Program], state_dir: Path, cwd: Path) -> str:
    """A supervisord config that runs in the foreground and logs to stdout.

    The control socket in `state_dir` lets an operator (and the fault tests) run
    `supervisorctl -c <state_dir>/supervisord.conf status`.
    """
    state = _escape(str(state_dir))
    password = secrets.token_urlsafe(16)  # the socket is 0700 already; this keeps supervisord quiet
    user = "user=root\n" if os.geteuid() == 0 else ""  # says "as root on purpose" (no CRIT line)
    head = f"""[supervisord]
nodaemon=true
logfile=/dev/null
logfile_maxbytes=0
loglevel=info
pidfile={state}/supervisord.pid
childlogdir={state}
{user}
[unix_http_server]
file={state}/supervisor.sock
chmod=0700
username=supervisor
password={password}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{state}/supervisor.sock
username=supervisor
password={password}
"""
    return head + "".join(_program_section(program, cwd) for program in programs)


def write_config(programs: Iterable[Program], state_dir: Path, cwd: Path) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "supervisord.conf"
    path.touch(mode=0o600)
    path.chmod(0o600)  # it holds the control socket's password
    path.write_text(render_config(programs, state_dir.resolve(), cwd))
    return path


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the launcher dies, even by SIGKILL (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _append_only_stdout() -> None:
    """Make a redirected stdout append-only, for the launcher and everything it starts.

    supervisord reopens `/dev/stdout` for the programs' output; on a log file that is a second
    file offset, and the two would overwrite each other. O_APPEND makes every write land at the
    end, whichever descriptor it comes through.
    """
    if stat.S_ISREG(os.fstat(1).st_mode):
        fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_APPEND)


def run_supervisord(config: Path, env: Mapping[str, str]) -> int:
    """Run supervisord until it exits; a SIGTERM or SIGINT to the launcher is passed on to it.

    The launcher stays its parent so that even a SIGKILL of the launcher stops the stack:
    the kernel then sends supervisord SIGTERM (PR_SET_PDEATHSIG), and it stops every program.
    """
    _append_only_stdout()
    sys.stdout.flush()
    argv = [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(config)]
    child = subprocess.Popen(
        argv,
        env=dict(env),
        start_new_session=True,  # Ctrl-C reaches the launcher only, which passes on one SIGTERM
        preexec_fn=_die_with_parent,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: child.send_signal(signal.SIGTERM))
    return child.wait()
