"""`foaf node --json` as a child process, its JSON log kept line by line: shared by the
lnprototest Runner (interop/lnprototest/foaf_runner.py) and the pyln-proto check
(examples/pyln-check/check.py). Standard library only."""

import json
import queue
import signal
import subprocess
import threading
import time
from typing import Any, Callable, Dict, List, Optional


class NodeError(Exception):
    """The node did not log what was awaited, or would not stop."""


class FoafNodeProcess:
    def __init__(self, argv: List[str], timeout: float, stderr: Any = None):
        self.timeout = timeout
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self.events: List[Dict[str, Any]] = []
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pred: Callable[[Dict[str, Any]], bool], what: str,
                 timeout: Optional[float] = None) -> Dict[str, Any]:
        """The first logged event (already seen or still to come) for which `pred` holds."""
        for e in self.events:
            if pred(e):
                return e
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NodeError("foaf node never logged {}".format(what))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise NodeError("foaf node exited before logging {}".format(what))
            e = json.loads(line)
            self.events.append(e)
            if pred(e):
                return e

    def log(self) -> str:
        """Everything logged so far, one JSON object a line."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                break
            self.events.append(json.loads(line))
        return "\n".join(json.dumps(e) for e in self.events)

    def stop(self) -> int:
        """SIGINT (Ctrl-C), then the exit status; NodeError (after a kill) if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise NodeError("foaf node did not stop within {}s of SIGINT".format(self.timeout))
