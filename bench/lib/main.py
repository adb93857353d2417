"""bench/run's engine: sets up Tern and Dovecot with the same users and durability, runs each
workload against each server in turn (the order alternates from one workload to the next, so
neither server always goes first), prints the table and writes bench/results/<stamp>.{md,json}.

Invariants: every server is started here and stopped here by PID (also on error or signal);
every workload is bounded (a duration or a count, and a timeout); nothing leaves 127.0.0.1.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time

import report
import servers
import w_big
import w_delivery
import w_idle
import w_idle_floor
import w_logins
import w_mixed

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
WORKLOADS = ["logins", "delivery", "mixed", "big", "idle"]

# name, default, type, help. Each is also read from $BENCH_<NAME> (dashes → underscores).
PARAMS = [
    ("servers", "tern,dovecot", str, "servers to run, in order"),
    ("only", ",".join(WORKLOADS), str, "workloads to run"),
    ("tern-bin", os.path.join(REPO, "target/release/tern"), str, "the Tern binary"),
    ("work", os.path.join(os.environ.get("TMPDIR", "/tmp"), "tern-bench"), str, "scratch dir (wiped)"),
    ("dovecot-format", "maildir", str, "Dovecot mailbox format: maildir, sdbox or mdbox"),
    ("delivery-sessions", 20, int, "parallel LMTP sessions"),
    ("delivery-msgs", 500, int, "messages per session (issue: 5000, --full)"),
    ("delivery-size", 10240, int, "payload bytes per message"),
    ("delivery-mode", "per-user", str, "per-user (session k → user k) or single (all → one user)"),
    ("mix-clients", 50, int, "concurrent IMAP clients"),
    ("mix-users", 50, int, "users they spread over"),
    ("mix-msgs", 200, int, "messages pre-populated per user"),
    ("mix-size", 10240, int, "bytes per pre-populated / appended message"),
    ("mix-seconds", 30, int, "duration per server"),
    ("mix-rounds", 5, int, "command rounds per login session"),
    ("mix-procs", 2, int, "load generator processes"),
    ("big-msgs", 20000, int, "messages in the big mailbox (issue: 100000, --full)"),
    ("big-size", 4096, int, "bytes per big-mailbox message"),
    ("big-reps", 3, int, "timed repetitions (median reported)"),
    ("login-clients", 8, int, "concurrent login clients"),
    ("login-seconds", 10, int, "duration per server"),
    ("idle-conns", 1000, int, "IDLE connections"),
    ("idle-procs", 4, int, "client processes holding them"),
    ("idle-deliveries", 20, int, "LMTP deliveries timed to EXISTS"),
    ("idle-gap", 0.3, float, "seconds between those deliveries"),
    ("idle-open-conc", 8, int, "concurrent logins per client process while opening them"),
    ("tern-env", "", str, "extra environment for tern serve, e.g. MALLOC_MMAP_THRESHOLD_=131072"),
]
FULL = {"delivery_msgs": 5000, "big_msgs": 100000}
QUICK = {"delivery_msgs": 20, "mix_msgs": 30, "mix_seconds": 5, "mix_rounds": 2, "big_msgs": 1000,
         "big_reps": 1, "login_seconds": 3, "idle_conns": 100, "idle_deliveries": 5}


def parse():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for name, default, typ, help_ in PARAMS:
        env = "BENCH_" + name.upper().replace("-", "_")
        ap.add_argument("--" + name, type=typ, default=typ(os.environ.get(env, default)),
                        help=f"{help_} (${env})")
    ap.add_argument("--full", action="store_true", help="the issue's full sizes: " + str(FULL))
    ap.add_argument("--quick", action="store_true", help="a smoke run: " + str(QUICK))
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    ap.add_argument("--report", metavar="JSON", help="only re-render the table of an earlier run's JSON")
    a = ap.parse_args()
    for preset, on in ((FULL, a.full), (QUICK, a.quick)):
        if on:
            for k, v in preset.items():
                setattr(a, k, v)
    return a


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fsync_rate(path, threads, seconds=2.0):
    """fsyncs per second of 4 KiB rewrites, `threads` files in parallel, on `path`'s disk."""
    counts = [0] * threads

    def work(k):
        fn = os.path.join(path, f"fsync-probe-{k}")
        fd = os.open(fn, os.O_WRONLY | os.O_CREAT, 0o600)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            os.pwrite(fd, b"x" * 4096, 0)
            os.fsync(fd)
            counts[k] += 1
        os.close(fd)
        os.unlink(fn)
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return round(sum(counts) / seconds)


def machine(work):
    mem = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    df = subprocess.run(["df", "-h", work], capture_output=True, text=True).stdout.strip().splitlines()
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "crates"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(int(mem) / 1048576, 1),
        "kernel": platform.release(), "df": df[-1] if df else "",
        "fsync_per_s_1": fsync_rate(work, 1), "fsync_per_s_8": fsync_rate(work, 8),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "git": rev + (" (crates/ modified)" if dirty else ""),
    }


def set_inotify(n):
    """Dovecot IDLE needs one inotify instance per imap process; returns the old limit."""
    path = "/proc/sys/fs/inotify/max_user_instances"
    try:
        old = int(open(path).read())
        if n > old:
            open(path, "w").write(str(n))
        return old
    except OSError:
        return None


def main():
    a = parse()
    if a.report:
        with open(a.report) as f:
            results = json.load(f)
        print(render(results, os.path.basename(a.report).rsplit(".", 1)[0]))
        return
    os.makedirs(a.work, exist_ok=True)
    names = [s for s in a.servers.split(",") if s]
    todo = [w for w in a.only.split(",") if w]
    deliv = [f"deliv{k:02d}@{servers.DOMAIN}" for k in range(1, a.delivery_sessions + 1)]
    mix = [f"mix{k:02d}@{servers.DOMAIN}" for k in range(1, a.mix_users + 1)]
    big, idle = f"big@{servers.DOMAIN}", f"idle@{servers.DOMAIN}"
    users = deliv + mix + [big, idle]

    log("machine: measuring the fsync rate")
    info = machine(a.work)
    log(f"machine: {info['nproc']} cores, {info['mem_gib']} GiB, fsync/s 1 thread {info['fsync_per_s_1']}, "
        f"8 threads {info['fsync_per_s_8']}, load {' '.join(info['loadavg_start'])}")

    tern = servers.Tern(a.work, a.tern_bin, a.idle_conns,
                        dict(kv.split("=", 1) for kv in a.tern_env.split() if "=" in kv))
    dove = servers.Dovecot(a.work, a.dovecot_format, a.idle_conns)
    by_name = {"tern": tern, "dovecot": dove}
    run_servers = [by_name[n] for n in names]
    log(f"setup: {len(users)} users in Tern (argon2id hashes), the same hashes in Dovecot")
    tern.setup(users)
    if dove in run_servers:
        dove.setup(users, tern.hashes())
    old_inotify = set_inotify(a.idle_conns + 1024)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    results = {"params": {k.replace("-", "_"): getattr(a, k.replace("-", "_")) for k, *_ in PARAMS},
               "machine": info, "servers": {}}
    started = time.time()
    try:
        for s in run_servers:
            s.start()
            results["servers"][s.name] = s.describe()
            log(f"{s.name}: up (pid {s.proc.pid}), IMAP 127.0.0.1:{s.imap}, LMTP 127.0.0.1:{s.lmtp}")
        for wi, wl in enumerate(w for w in WORKLOADS if w in todo):
            order = run_servers if wi % 2 == 0 else list(reversed(run_servers))
            results[wl] = {}
            results["machine"].setdefault("loadavg_at", {})[wl] = open("/proc/loadavg").read().split()[0]
            for s in order:
                t = time.perf_counter()
                cpu0 = s.cpu()
                log(f"{wl}: {s.name} ...")
                try:
                    res = run_workload(wl, s, a, deliv, mix, big, idle)
                    res["server_cpu_s"] = round(s.cpu() - cpu0, 2)
                    per_unit(wl, res)
                except (Exception, KeyboardInterrupt) as e:
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    res = {"failed": f"{type(e).__name__}: {str(e)[:500]}"}
                res["wall_s"] = round(time.perf_counter() - t, 1)
                results[wl][s.name] = res
                log(f"{wl}: {s.name}: {summary(wl, res)}")
            if wl == "big":
                results["big_floor_ms"] = w_big.client_floor(a.big_msgs)
                log(f"big: the load generator's own FETCH 1:* time (fake server): {results['big_floor_ms']} ms")
            if wl == "idle":
                log("idle: the load generator's floor (fake server) ...")
                try:
                    results["idle_floor"] = w_idle_floor.run(a.idle_conns, a.idle_procs, a.idle_deliveries,
                                                             a.idle_gap, a.idle_open_conc)
                except Exception as e:
                    results["idle_floor"] = {"failed": f"{type(e).__name__}: {str(e)[:300]}"}
                log(f"idle: floor: {results['idle_floor']}")
    finally:
        for s in run_servers:
            s.stop()
            log(f"{s.name}: stopped")
        if old_inotify is not None:
            set_inotify_back(old_inotify)
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["total_s"] = round(time.time() - started, 1)
    emit(results, a)


def set_inotify_back(old):
    try:
        open("/proc/sys/fs/inotify/max_user_instances", "w").write(str(old))
    except OSError:
        pass


def per_unit(wl, res):
    """Server CPU per unit of work: comparable even when the machine is shared."""
    unit = {"delivery": "messages", "mixed": "commands", "logins": "logins"}.get(wl)
    if unit and res.get(unit):
        res["cpu_ms_per_unit"] = round(res["server_cpu_s"] * 1000 / res[unit], 3)


def run_workload(wl, s, a, deliv, mix, big, idle):
    if wl == "logins":
        return w_logins.run(s, mix, a.login_clients, a.login_seconds)
    if wl == "delivery":
        return w_delivery.run(s, deliv, a.delivery_msgs, a.delivery_size, a.delivery_mode)
    if wl == "mixed":
        prep = w_mixed.prepare(s, mix, a.mix_msgs, a.mix_size)
        res = w_mixed.run(s, mix, a.mix_clients, a.mix_seconds, a.mix_rounds, a.mix_size, a.mix_procs)
        res["prepare_s"] = round(prep, 1)
        return res
    if wl == "big":
        return w_big.run(s, big, a.big_msgs, a.big_size, a.big_reps)
    if wl == "idle":
        return w_idle.run(s, idle, a.idle_conns, a.idle_procs, a.idle_deliveries, a.idle_gap, 10240,
                          a.idle_open_conc)
    raise ValueError(wl)


def summary(wl, r):
    if "failed" in r:
        return "FAILED " + r["failed"]
    keys = {"logins": ["logins_per_s", "p50_ms", "protocol_errors", "rss_growth_mib"],
            "delivery": ["msgs_per_s", "seconds", "counted"],
            "mixed": ["cmds_per_s", "p50_ms", "p99_ms", "protocol_errors", "loadgen_cpu_s"],
            "big": ["append_msgs_per_s", "median_ms"],
            "idle": ["opened", "rss_per_conn_kib", "rss_marginal_kib", "pss_marginal_kib", "exists_p50_ms", "exists_p99_ms",
                     "protocol_errors"]}[wl]
    return ", ".join(f"{k}={r.get(k)}" for k in keys) + (f", errors={r['errors'][:2]}" if r.get("errors") else "")


def emit(results, a):
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M%S")
    text = render(results, stamp)
    print(text)
    if not a.no_write:
        out = os.path.join(BENCH, "results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, stamp + ".md"), "w") as f:
            f.write(text)
        with open(os.path.join(out, stamp + ".json"), "w") as f:
            json.dump(results, f, indent=1)
        log(f"written: bench/results/{stamp}.md and .json")


def render(results, stamp):
    m = results["machine"]
    head = [f"# Tern vs Dovecot, {stamp}", "",
            f"- machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}",
            f"- disk: `{m['df']}`; fsync/s (4 KiB rewrite): {m['fsync_per_s_1']} (1 thread), "
            f"{m['fsync_per_s_8']} (8 threads)",
            f"- load average (1, 5, 15 min) at start {' '.join(m['loadavg_start'])}, at end "
            f"{' '.join(m['loadavg_end'])} (the IDLE workload's 1,000 Dovecot processes wake at once "
            "and raise it); 1-min load as each workload began: "
            + ", ".join(f"{k} {v}" for k, v in m.get("loadavg_at", {}).items()),
            f"- tern: git {m['git']}; total run {results['total_s']} s",
            ] + [f"- {k}: {v}" for k, v in results["servers"].items()] + [
            f"- parameters: `{json.dumps(results['params'])}`", ""]
    body = report.table(results)
    if results.get("big_floor_ms") is not None:
        body += (f"\n\nBig mailbox: the load generator itself takes {results['big_floor_ms']} ms to read "
                 f"`FETCH 1:* (UID FLAGS)` of {results['params']['big_msgs']:,} messages from a fake server "
                 "(loopback, canned response).")
    fl = results.get("idle_floor")
    if fl and "failed" not in fl:
        body += (f"\n\nIDLE → EXISTS floor of the load generator itself (same client, {fl['opened']} sessions on "
                 f"a fake server that writes every EXISTS at once): p50 {fl['exists_p50_ms']} ms, "
                 f"p99 {fl['exists_p99_ms']} ms. Server figures are only meaningful above it.")
    fails = report.failures(results)
    return "\n".join(head) + "\n" + body + "\n" + ("\nErrors:\n" + "\n".join(fails) + "\n" if fails else "")


if __name__ == "__main__":
    main()
