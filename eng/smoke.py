#!/usr/bin/env python3
"""The first hour as a newcomer lives it: runs `bash eng/run.sh` exactly as the README says, opens every URL it
prints, signs in to the cost dashboard with the generated admin key, posts one event with the generated ingest key
and sees it on the overview, then presses Ctrl+C (SIGINT to the run's process group) and checks that every process
the run started is gone within 20 s. Prints "1 passed, 0 failed" or the step that failed, and exits 0 or 1.

Only the Python standard library: CI runs it before the test suite on a fresh machine."""
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_BOUND = float(os.environ.get("SMOKE_START_SECONDS", "300"))
# The services stop first, then the servers and the orchestrator; what the stop takes is in BENCHMARKS.md.
STOP_BOUND = 15.0
ASPIRE_DASHBOARD = "http://localhost:15180"
IDLE_SECONDS = 60
IDLE_TRACES = 5
# Before the idle minute: the trace count unchanged for SETTLE_SECONDS, within SETTLE_BOUND.
SETTLE_SECONDS = 10
SETTLE_BOUND = 90
# What a run starts: the services, the servers, Erlang's port mapper and the orchestrator.
# PostgreSQL's server (and its launcher) by the run's data folder in their arguments; its workers end with it.
RUN_PROCESSES = re.compile(r"LlmCostTracker\.|AppHost|redis-server|beam\.smp|epmd|/dcp|dcpctrl|Aspire\.Dashboard|llmcost-tracker/run-")


class Failed(Exception):
    pass


def log(message):
    print(f"[smoke {time.strftime('%H:%M:%S')}] {message}", flush=True)


def processes():
    """The processes (pid, command line) that a run of the app starts, other than this script's own."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if command and RUN_PROCESSES.search(command) and "smoke.py" not in command:
            found.append((int(pid), command[:160]))
    return found


def get(opener, url, timeout=10, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace"), response.geturl()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), url


def wait_for(what, probe, bound):
    deadline = time.monotonic() + bound
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except (OSError, urllib.error.URLError) as error:
            last = error
        time.sleep(0.5)
    raise Failed(f"{what}: not within {bound:.0f} s (last: {last!r})")


def secret(name):
    output = subprocess.run(["dotnet", "user-secrets", "list", "--project", "AppHost"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    match = re.search(rf"^Parameters:{re.escape(name)} = (\S+)$", output, re.MULTILINE)
    if not match:
        raise Failed(f"the generated {name} is not in the AppHost's user secrets")
    return match.group(1)


def main():
    leftovers = processes()
    if leftovers:
        raise Failed(f"processes of an earlier run are still there: {leftovers}")

    output_path = os.path.join(ROOT, "eng", ".smoke-run.log")
    output = open(output_path, "w")

    def start():
        # A background job of a non-interactive shell ignores SIGINT: restore it, and lead a process group as a
        # terminal's foreground job does, so that Ctrl+C reaches the run as it does a newcomer's.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()

    run = subprocess.Popen(["bash", "eng/run.sh"], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                           preexec_fn=start)
    try:
        check_run(run, output_path)
    finally:
        stop(run)
        output.close()
    services_stopped_first(output_path)


def printed_urls(output_path):
    """The URLs in eng/run.sh's own banner (what it tells a newcomer to open), not those the AppHost logs after it
    (such as the dashboard's OTLP endpoint, which is no page)."""
    with open(output_path, errors="replace") as f:
        text = f.read()
    banner = text.split("Using launch settings", 1)[0]
    return sorted(set(re.findall(r"http://localhost:\d+[^\s):]*", banner)))


def answered(opener, url):
    """The status of a GET once the server behind it answers (a 5xx while a service is still starting is not yet)."""
    status = get(opener, url)[0]
    return status if status < 500 else None


def check_run(run, output_path):
    plain = urllib.request.build_opener()
    api = "http://localhost:5380"

    def api_healthy():
        if run.poll() is not None:
            raise Failed(f"eng/run.sh exited with {run.returncode} before the API was healthy")
        return get(plain, f"{api}/health")[0] == 200

    wait_for("the API's health (http://localhost:5380/health)", api_healthy, START_BOUND)
    log("the API is healthy")

    # Every URL the run printed answers (the cost dashboard's root redirects to its sign-in page); none is a 4xx.
    urls = printed_urls(output_path)
    expected = ["http://localhost:15180", "http://localhost:5390", "http://localhost:5380"]
    for url in expected:
        if not any(u.startswith(url) for u in urls):
            raise Failed(f"eng/run.sh did not print {url}; it printed {urls}")
    for url in urls:
        status = wait_for(f"{url} answering", lambda: answered(plain, url), 60)
        if status >= 400:
            raise Failed(f"{url}, printed by eng/run.sh, answered {status}")
        log(f"{url} answered {status}")

    # Sign in to the cost dashboard with the generated admin key.
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    dashboard = "http://localhost:5390"
    status, page, _ = get(browser, f"{dashboard}/signin")
    token = re.search(r'name="__RequestVerificationToken"[^>]*value="([^"]+)"', page)
    if status != 200 or not token:
        raise Failed(f"the sign-in page answered {status} without a form token")
    form = urllib.parse.urlencode({"_handler": "signin", "__RequestVerificationToken": token.group(1),
                                   "Input.Key": secret("admin-api-key")}).encode()
    status, page, landed = get(browser, f"{dashboard}/signin", data=form,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200 or "/signin" in landed or not any(c.name == "llmcost-dashboard" for c in jar):
        raise Failed(f"signing in answered {status} at {landed}")
    log("signed in to the cost dashboard")

    # One event with the generated ingest key, then on the overview.
    user = f"smoke-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"userId": user, "model": "gpt-4o", "inputTokens": 1000, "outputTokens": 100}).encode()
    status, answer, _ = get(plain, f"{api}/api/v1/llm-usage", data=body,
                            headers={"X-Api-Key": secret("ingest-api-key"), "Content-Type": "application/json"})
    if status != 202:
        raise Failed(f"posting an event answered {status}: {answer}")
    wait_for(f"{user} on the overview", lambda: user in get(browser, f"{dashboard}/")[1], 60)
    log(f"{user} is on the overview")

    # One GenAI span over OTLP/HTTP (JSON), as an app's exporter sends it, with the key as a bearer token.
    otlp_user = f"smoke-otlp-{uuid.uuid4().hex[:12]}"
    now = str(time.time_ns())
    span = {"traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": now, "endTimeUnixNano": now,
            "attributes": [{"key": k, "value": v} for k, v in [
                ("gen_ai.provider.name", {"stringValue": "openai"}), ("gen_ai.request.model", {"stringValue": "gpt-4o"}),
                ("gen_ai.usage.input_tokens", {"intValue": "1000"}), ("gen_ai.usage.output_tokens", {"intValue": "100"}),
                ("user.id", {"stringValue": otlp_user})]]}
    body = json.dumps({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}).encode()
    status, answer, _ = get(plain, f"{api}/v1/traces", data=body,
                            headers={"Authorization": f"Bearer {secret('ingest-api-key')}", "Content-Type": "application/json"})
    if status != 200 or "rejectedSpans" in answer:
        raise Failed(f"exporting a GenAI span to /v1/traces answered {status}: {answer}")
    wait_for(f"{otlp_user} on the overview", lambda: otlp_user in get(browser, f"{dashboard}/")[1], 60)
    log(f"{otlp_user}, exported over OTLP, is on the overview")

    # What the Aspire dashboard shows: no error logged by a normal start and one event, and an idle app adds at most
    # IDLE_TRACES traces a minute (background work traces only when it did something).
    errors = telemetry_count(plain, "logs?severity=Error")
    if errors != 0:
        raise Failed(f"the Aspire dashboard shows {errors} error logs after a normal start and one event")
    wait_for("the event's trace in the Aspire dashboard", lambda: telemetry_count(plain, "traces"), 30)
    # The idle minute starts once what the tour did has all arrived: the services export in batches, so the traces of
    # the last posts (the OTLP export makes two: its request's and the exported span's) can land seconds later.
    before = wait_for("the tour's traces to settle", lambda: steady_count(plain, "traces"), SETTLE_BOUND)
    time.sleep(IDLE_SECONDS)  # the scenario itself: an idle minute, not a wait for something to happen
    idle = telemetry_count(plain, "traces") - before
    log(f"the idle app made {idle} traces in {IDLE_SECONDS} s")
    if idle > IDLE_TRACES:
        raise Failed(f"the idle app made {idle} traces in {IDLE_SECONDS} s (at most {IDLE_TRACES})")


def steady_count(opener, query):
    """The count once it has not changed for SETTLE_SECONDS (None until then, so wait_for keeps asking)."""
    first = telemetry_count(opener, query)
    time.sleep(SETTLE_SECONDS)
    return first if telemetry_count(opener, query) == first else None


def telemetry_count(opener, query):
    status, body, _ = get(opener, f"{ASPIRE_DASHBOARD}/api/telemetry/{query}")
    if status != 200:
        raise Failed(f"the Aspire dashboard's telemetry API answered {status} for {query}")
    return json.loads(body)["totalCount"]


def stop(run):
    """Ctrl+C, then every process the run started gone within the bound."""
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGINT)
    clock = time.monotonic()
    try:
        wait_for("every process of the run gone after Ctrl+C", lambda: run.poll() is not None and not processes(), STOP_BOUND)
        log(f"Ctrl+C: everything the run started was gone after {time.monotonic() - clock:.1f} s")
    except Failed:
        left = processes()
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        raise Failed(f"after Ctrl+C, {STOP_BOUND:.0f} s later, still running: {left}")


def services_stopped_first(output_path):
    """The AppHost stopped the services, and saw them exit, before it stopped Redis, the broker and PostgreSQL."""
    with open(output_path, errors="replace") as f:
        said = re.search(r"The services stopped in [0-9.]+ s; now the infrastructure", f.read())
    if not said:
        raise Failed("the AppHost did not say that the services stopped before the infrastructure")
    log(said.group(0))


if __name__ == "__main__":
    try:
        main()
    except Failed as failure:
        log(f"FAILED: {failure}")
        # A check before the run starts (leftover processes) fails with no output of its own to show.
        run_log = os.path.join(ROOT, "eng", ".smoke-run.log")
        if os.path.exists(run_log):
            with open(run_log, errors="replace") as f:
                print("--- the run's output (last 60 lines) ---\n" + "".join(f.readlines()[-60:]), flush=True)
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")
