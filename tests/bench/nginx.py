"""nginx as the ceiling: the fastest a fixed 302 can be served on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from api.embedded_redis import free_port

from .client import http_get


class Nginx:
    """nginx answering a fixed 302 on a free loopback port, 2 workers like gunicorn."""

    def __init__(self, binary: str, work: Path, location: str) -> None:
        self.binary = binary
        self.prefix = work / f"nginx-{os.getpid()}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.location = location
        self.process: subprocess.Popen | None = None

    def start(self) -> Nginx:
        (self.prefix / "logs").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        temp = self.prefix / "tmp"
        temp.mkdir(exist_ok=True)
        conf.write_text(f"""
daemon off;
master_process on;
worker_processes 2;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {temp};
  proxy_temp_path {temp};
  fastcgi_temp_path {temp};
  uwsgi_temp_path {temp};
  scgi_temp_path {temp};
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      add_header Cache-Control "private, max-age=3600" always;
      return 302 "{self.location}";
    }}
  }}
}}
""")
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.prefix), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()[-1000:]}")
            try:
                if http_get(self.base + "/x")[0] == 302:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("nginx did not start")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)  # graceful: master waits for its workers
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
