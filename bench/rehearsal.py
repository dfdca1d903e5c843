"""Rehearsal page: from ``oicc-bot rehearse`` to a usable page, and from a bot message to
its appearance in the page, measured in Debian's headless Chromium.

    python -m bench.rehearsal [--runs 3] [--messages 200]

A usable page: the page answered, every phone is drawn with its welcome, and the page says
it is ready. A message's latency: from the moment the local Bot API server took the bot's
message (its clock) to the moment the page put it in the phone's chat (the browser's
clock; both are this machine's wall clock). The bot's answers to /help typed on the phones
are measured, one at a time, round the phones.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from tests.browser.conftest import chromium

TARGET_START = 3.0
TARGET_P99_MS = 200.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(port: int, workdir: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "rehearse", "--port", str(port)],
        cwd=workdir,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Like a person who opens the page as soon as the command serves it."""
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit("oicc-bot rehearse stopped") from None
            time.sleep(0.01)


def usable(driver: Any) -> bool:
    return bool(
        driver.execute_script(
            "return document.body.dataset.ready === 'yes' && "
            "document.querySelectorAll('.phone').length >= 7 && "
            "[...document.querySelectorAll('.phone')].every("
            "p => p.querySelector('.msg.in'))"
        )
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (a figure the machine's load leaves alone)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_usable(driver: Any, workdir: str) -> tuple[float, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    began = time.perf_counter()
    process = start(port, workdir)
    try:
        wait_listening(port, process)
        driver.get(url)
        while not usable(driver):
            if process.poll() is not None:
                raise SystemExit("oicc-bot rehearse stopped")
            time.sleep(0.01)
        return time.perf_counter() - began, cpu_seconds(process.pid)
    finally:
        stop(process)


def post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def latencies(driver: Any, workdir: str, count: int) -> list[float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = start(port, workdir)
    try:
        wait_listening(port, process)
        driver.get(url)
        while not usable(driver):
            time.sleep(0.05)
        driver.execute_script(
            "window.seen = []; window.rehearsalSeen = (m, now) => {"
            " if (!m.out) window.seen.push(now - m.at * 1000); };"
        )
        phones = [
            int(p)
            for p in driver.execute_script(
                "return [...document.querySelectorAll('.phone')].map(p => p.dataset.phone)"
            )
        ]
        for n in range(count):
            post(url + "api/send", {"phone": phones[n % len(phones)], "text": "/help"})
            deadline = time.monotonic() + 30
            while driver.execute_script("return window.seen.length") < n + 1:
                if time.monotonic() > deadline:
                    raise SystemExit(f"message {n} never appeared")
                time.sleep(0.005)
        return [float(x) for x in driver.execute_script("return window.seen")][:count]
    finally:
        stop(process)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rehearsal", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    driver = chromium(1860, 1480)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            load = os.getloadavg()[0]
            runs = [time_to_usable(driver, workdir) for _ in range(args.runs)]
            starts = [wall for wall, _ in runs]
            shown = ", ".join(f"{s:.2f}" for s in starts)
            median = statistics.median(starts)
            verdict = "met" if median < TARGET_START else "MISSED"
            print(
                f"oicc-bot rehearse to a usable page: median {median:.2f} s over {args.runs}"
                f" runs ({shown}); target < {TARGET_START:.0f} s: {verdict}"
            )
            print(
                f"  CPU time of oicc-bot rehearse until then: median"
                f" {statistics.median(cpu for _, cpu in runs):.2f} s; load average before the"
                f" runs {load:.1f} on {os.cpu_count()} cores"
            )
            seen = latencies(driver, workdir, args.messages)
            p50, p99 = percentile(seen, 0.50), percentile(seen, 0.99)
            verdict = "met" if p99 < TARGET_P99_MS else "MISSED"
            print(
                f"bot message to the page, {len(seen)} messages: p50 {p50:.0f} ms,"
                f" p99 {p99:.0f} ms, max {max(seen):.0f} ms;"
                f" target p99 < {TARGET_P99_MS:.0f} ms: {verdict}"
            )
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
