/**
 * The Python hook perf-gate loads into Locust as an extra locustfile. It is kept here as a string
 * (the action is bundled into single JS files, so a separate .py asset would be lost); the Locust
 * adapter writes it into the task's work directory before starting Locust.
 *
 * What the hook does:
 * - writes one JSON line per request (`events.request`) with the same field names as Locust's own
 *   request event (start_time epoch s, request_type, name, response_time ms, response_length,
 *   status_code, exception repr or null) plus `end_time` (epoch s, when Locust recorded the request)
 *   and `error_kind` (a perf-gate failure kind or null);
 * - writes `{"type": "users", "t": <epoch s>, "n": <active users>}` once per second while a test
 *   runs (at the middle of each wall-clock second);
 * - sends the lines to the file descriptor named by PERF_GATE_SAMPLES_FD (the runner passes 3), or,
 *   when that is unset or not open, to the file named by PERF_GATE_SAMPLES, so it also works by hand:
 *   `PERF_GATE_SAMPLES=out.ndjson locust -f perfgate_hook.py,locustfile.py ...`;
 * - flushes every second, when the test stops, when Locust quits and at process exit;
 * - when PERF_GATE_STAGES holds a JSON list of `{"durationS": s, "target": users}`, defines a
 *   LoadTestShape that ramps linearly between stage targets and ends the test after the last stage;
 *   at `init` it makes that shape the one Locust runs, whichever shape class Locust picked (2.12
 *   takes the last -f file's, later versions the first one found);
 * - without stages, when the locustfile brings its own shape (without `use_common_options`), drops
 *   --run-time at `init` as later Locust versions do; Locust 2.12 would refuse to start otherwise.
 *
 * It runs on Locust 2.12 (Debian, Python 3.11) and later: listeners accept **kwargs and optional
 * attributes are looked up defensively; no listener ever raises.
 */

/** File name of the hook inside the work directory (also its Python module name). */
export const LOCUST_HOOK_FILE = 'perfgate_hook.py'

/** Environment variables the hook reads. */
export const HOOK_ENV = {
  samplesFd: 'PERF_GATE_SAMPLES_FD',
  samplesPath: 'PERF_GATE_SAMPLES',
  stages: 'PERF_GATE_STAGES'
} as const

export const LOCUST_HOOK_SOURCE = String.raw`"""perf-gate capture hook for Locust, loaded as an extra locustfile.

Records every request Locust logs as one JSON line, plus the active user count once per second,
on the file descriptor named by PERF_GATE_SAMPLES_FD or else in the file named by
PERF_GATE_SAMPLES. With PERF_GATE_STAGES (a JSON list of {"durationS": s, "target": users}) it
also defines a load shape that follows those stages.

By hand: PERF_GATE_SAMPLES=out.ndjson locust -f perfgate_hook.py,locustfile.py --headless ...
"""
import atexit
import json
import math
import os
import sys
import time

import gevent
from locust import LoadTestShape, events

FD_ENV = "PERF_GATE_SAMPLES_FD"
PATH_ENV = "PERF_GATE_SAMPLES"
STAGES_ENV = "PERF_GATE_STAGES"
BUFFER_BYTES = 1 << 16


def _warn(message):
    try:
        sys.stderr.write("perf-gate hook: " + message + "\n")
        sys.stderr.flush()
    except Exception:
        pass


def _open_output():
    fd_text = os.environ.get(FD_ENV, "").strip()
    if fd_text:
        try:
            fd = int(fd_text)
            os.fstat(fd)
            os.set_blocking(fd, True)
            return os.fdopen(fd, "wb", buffering=BUFFER_BYTES)
        except (ValueError, OSError):
            pass
    path = os.environ.get(PATH_ENV, "").strip()
    if path:
        try:
            return open(path, "wb", buffering=BUFFER_BYTES)
        except OSError as e:
            _warn("cannot open %s=%s: %s" % (PATH_ENV, path, e))
            return None
    _warn("no sample output; set %s to a file path to record requests" % PATH_ENV)
    return None


class _Output:
    def __init__(self):
        self.stream = _open_output()

    def write(self, record):
        stream = self.stream
        if stream is None:
            return
        try:
            data = (json.dumps(record, allow_nan=False) + "\n").encode("utf-8")
        except (TypeError, ValueError):
            return
        try:
            stream.write(data)
        except (OSError, ValueError) as e:
            self._lost(e)

    def flush(self):
        stream = self.stream
        if stream is None:
            return
        try:
            stream.flush()
        except (OSError, ValueError) as e:
            self._lost(e)

    def close(self):
        self.flush()
        stream = self.stream
        self.stream = None
        if stream is not None:
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def _lost(self, error):
        self.stream = None
        _warn("sample output failed (%s); later samples are dropped" % error)


_out = _Output()
atexit.register(_out.close)

_TIMEOUT_NAMES = {"Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutError", "timeout"}
_CONNECTION_NAMES = {
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "BrokenPipeError",
    "NewConnectionError",
    "RemoteDisconnected",
    "ProtocolError",
    "gaierror",
}


def _error_kind(exception, status):
    """The perf-gate failure kind of a request; None for a success."""
    if exception is None:
        return None
    if isinstance(exception, BaseException):
        names = {cls.__name__ for cls in type(exception).__mro__}
    else:
        names = set()
    if "CatchResponseError" in names:
        return "assertion"
    if names & _TIMEOUT_NAMES:
        return "timeout"
    if names & _CONNECTION_NAMES:
        return "connection"
    if isinstance(status, int) and status >= 400:
        if status < 500:
            return "http_4xx"
        if status < 600:
            return "http_5xx"
        return "http_other"
    if "HTTPError" in names:
        return "http_other"
    return "other"


def _status_of(response):
    try:
        status = getattr(response, "status_code", None)
        return None if status is None else int(status)
    except Exception:
        return None


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


@events.request.add_listener
def _on_request(
    request_type=None,
    name=None,
    response_time=None,
    response_length=None,
    response=None,
    exception=None,
    start_time=None,
    **_kwargs
):
    try:
        end_time = time.time()
        rt = _number(response_time)
        start = _number(start_time)
        if start is None:
            start = end_time - (rt or 0) / 1000.0
        status = _status_of(response)
        _out.write(
            {
                "start_time": start,
                "request_type": "" if request_type is None else str(request_type),
                "name": "" if name is None else str(name),
                "response_time": rt,
                "response_length": _number(response_length),
                "status_code": status,
                "exception": None if exception is None else repr(exception),
                "end_time": end_time,
                "error_kind": _error_kind(exception, status),
            }
        )
    except Exception as e:
        _warn("could not record a request: %r" % (e,))


_state = {"runner": None, "ticker": None}


def _user_count():
    try:
        return int(getattr(_state["runner"], "user_count", 0) or 0)
    except Exception:
        return 0


def _write_users():
    _out.write({"type": "users", "t": time.time(), "n": _user_count()})


def _tick_users():
    while True:
        delay = (0.5 - time.time() % 1.0) % 1.0
        gevent.sleep(delay if delay > 0.05 else delay + 1.0)
        _write_users()
        _out.flush()


def _adopt_shape(environment, runner):
    """Makes the stages shape the one Locust runs; lets a locustfile's own shape end the test."""
    shape = getattr(environment, "shape_class", None)
    if _PLAN is not None:
        if not isinstance(shape, PerfGateStagesShape):
            if shape is not None:
                _warn("%s replaces the locustfile's load shape %s" % (STAGES_ENV, type(shape).__name__))
            ours = PerfGateStagesShape()
            ours.runner = runner
            environment.shape_class = ours
        return
    if shape is None or getattr(shape, "use_common_options", False):
        return
    # Like Locust >= 2.2x: a shape without use_common_options decides the run time itself
    # (Locust 2.12 would refuse to start with --run-time and a shape).
    options = getattr(environment, "parsed_options", None)
    if options is not None and getattr(options, "run_time", None):
        options.run_time = None
        _warn("the locustfile's load shape %s ends the test; --run-time is ignored" % type(shape).__name__)


@events.init.add_listener
def _on_init(environment=None, runner=None, **_kwargs):
    _state["runner"] = runner if runner is not None else getattr(environment, "runner", None)
    if environment is None:
        return
    try:
        _adopt_shape(environment, _state["runner"])
    except Exception as e:
        _warn("could not set up the load shape: %r" % (e,))


@events.test_start.add_listener
def _on_test_start(environment=None, **_kwargs):
    try:
        if _state["runner"] is None:
            _state["runner"] = getattr(environment, "runner", None)
        _write_users()
        if _state["ticker"] is None:
            _state["ticker"] = gevent.spawn(_tick_users)
    except Exception as e:
        _warn("could not start the user counter: %r" % (e,))


@events.test_stop.add_listener
def _on_test_stop(**_kwargs):
    ticker = _state["ticker"]
    _state["ticker"] = None
    try:
        if ticker is not None:
            ticker.kill(block=False)
    except Exception:
        pass
    _out.flush()


@events.quitting.add_listener
def _on_quitting(**_kwargs):
    _out.flush()


def _stage_plan(text):
    """[(begin s, duration s, from users, to users, spawn rate)] for the stages with a duration."""
    try:
        raw = json.loads(text)
    except ValueError:
        raw = None
    stages = []
    for item in raw if isinstance(raw, list) else []:
        d = _number(item.get("durationS")) if isinstance(item, dict) else None
        n = _number(item.get("target")) if isinstance(item, dict) else None
        if d is None or n is None or d < 0 or n < 0:
            stages = []
            break
        stages.append((float(d), float(n)))
    if not stages or sum(d for d, _ in stages) <= 0:
        _warn('%s must be a JSON list of {"durationS": seconds, "target": users} lasting > 0 s' % STAGES_ENV)
        sys.exit(1)
    plan = []
    begin = 0.0
    previous = 0.0
    reached = 0.0
    for duration, target in stages:
        if duration > 0:
            slope = (target - previous) / duration
            # a zero-length stage before this one moves the level at once: spawn that jump quickly
            rate = max(abs(slope), abs(previous - reached), 1.0)
            plan.append((begin, duration, previous, target, rate))
            reached = target
        begin += duration
        previous = target
    return plan


_PLAN = _stage_plan(os.environ[STAGES_ENV]) if os.environ.get(STAGES_ENV, "").strip() else None

if _PLAN is not None:

    class PerfGateStagesShape(LoadTestShape):
        """Ramps linearly from one PERF_GATE_STAGES target to the next, then ends the test."""

        def tick(self):
            t = self.get_run_time()
            for begin, duration, start, target, rate in _PLAN:
                if t < begin + duration:
                    users = int(start + (target - start) * max(0.0, t - begin) / duration + 0.5)
                    return (users, rate)
            return None
`
