"""Start-up timing for the end-to-end bench: spawn -> exit wall time and peak RSS of commands.

Usage: startup.py RUNS JSON   where JSON is {"name": ["cmd", "arg", ...], ...}
Each command runs once untimed (warm caches), then RUNS times interleaved with the others;
the wall time is taken around fork/exec + wait4, the peak RSS (ru_maxrss) from wait4.
Prints {"event":"result", "name": {"ms": [...], "rss_kb": [...], "out": first line}, ...}.
"""

import json
import os
import subprocess
import sys
import time

from common import emit


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    p.returncode = os.waitstatus_to_exitcode(status)
    return (t1 - t0) * 1000, ru.ru_maxrss, p.returncode, out.decode(errors="replace").strip()


def main():
    runs = int(sys.argv[1])
    cmds = json.loads(sys.argv[2])
    res = {}
    for name, cmd in cmds.items():
        _, _, code, out = run(cmd)
        res[name] = {"ms": [], "rss_kb": [], "code": code, "out": out.splitlines()[0] if out else ""}
    for _ in range(runs):
        for name, cmd in cmds.items():
            ms, rss, code, _ = run(cmd)
            res[name]["ms"].append(ms)
            res[name]["rss_kb"].append(rss)
            res[name]["code"] = res[name]["code"] or code
    emit(event="result", **res)


if __name__ == "__main__":
    main()
