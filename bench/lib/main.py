"""bench/run's engine: sets up Tern, Dovecot and Cyrus with the same users and equivalent
durability, runs each workload against each server in turn (the order alternates from one
workload to the next, so no server always goes first), prints the table and writes
bench/results/<stamp>.{md,json}.

Invariants: every server is started here and stopped here by PID (also on error or signal);
every workload is bounded (a duration or a count, and a timeout); nothing leaves 127.0.0.1.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import time

import report
import servers
import w_big
import w_delivery
import idlegen
import w_idle
import w_adlogins
import w_idle_floor
import w_ldaplogins
import w_logins
import w_maxconn
import w_mixed

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
WORKLOADS = ["logins", "ldaplogins", "adlogins", "delivery", "smtp", "sizemix", "smtpmix", "mixed", "big", "idle", "maxconn"]
# maxconn takes minutes: --only maxconn; ldaplogins ≈ 1 min and needs slapd (+ dovecot-ldap): --only ldaplogins;
# adlogins provisions a Samba AD DC (minutes) on the tests' fixed ports: --only adlogins
DIRECTORY_WORKLOADS = {"ldaplogins": w_ldaplogins, "adlogins": w_adlogins}
DEFAULT_WORKLOADS = [w for w in WORKLOADS if w not in ("maxconn", "ldaplogins", "adlogins")]
SMTP_ONLY = {"smtp", "smtpmix"}  # workloads for servers with an SMTP listener (Tern)

# name, default, type, help. Each is also read from $BENCH_<NAME> (dashes → underscores).
PARAMS = [
    ("servers", "tern,dovecot,cyrus", str, "servers to run, in order"),
    ("only", ",".join(DEFAULT_WORKLOADS), str, "workloads to run (also: maxconn, ldaplogins, adlogins)"),
    ("tern-bin", os.path.join(REPO, "target/release/tern"), str, "the Tern binary"),
    ("cyrus-bin", "", str, "directory with Cyrus's imapd and idled (default: /usr/lib/cyrus/bin, else "
     "the cyrus-imapd .deb bench/run unpacked into bench/.cyrus/root)"),
    ("work", os.path.join(os.environ.get("TMPDIR", "/tmp"), "tern-bench"), str, "scratch dir (wiped)"),
    ("dovecot-format", "maildir", str, "Dovecot mailbox format: maildir, sdbox or mdbox"),
    ("delivery-sessions", 20, int, "parallel LMTP sessions"),
    ("delivery-msgs", 500, int, "messages per session (issue: 5000, --full)"),
    ("delivery-size", 10240, int, "payload bytes per message"),
    ("delivery-mode", "per-user", str, "per-user (session k → user k) or single (all → one user)"),
    ("delivery-mix", "1KB:1000,10KB:500,100KB:100,1MB:20", str,
     "size mix (sizemix, smtpmix): SIZE:COUNT per class, one smtp-source each, all at once (KB = 1024 B)"),
    ("delivery-mix-sessions", 4, int, "parallel sessions per size class"),
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
    ("idle-loadgen", "auto", str, "load generator of the idle and big workloads: rust (bench/idlegen), python "
     "(lib/w_idle.py, lib/w_big.py), or auto (rust if its binary is there, else python)"),
    ("idlegen-bin", "", str, "the Rust IDLE load generator (default: tern-bench-idlegen next to --tern-bin)"),
    ("maxconn-target", 0, int, "maxconn: sessions to open (0: Tern's open-file limit minus what it uses)"),
    ("maxconn-peer-cap", 1500, int, "maxconn: most sessions opened on Dovecot / Cyrus (a process each)"),
    ("maxconn-procs", 4, int, "maxconn: client processes, each from its own 127.0.0.x"),
    ("maxconn-open-conc", 16, int, "maxconn: concurrent logins per client process"),
    ("maxconn-deliveries", 3, int, "maxconn: deliveries that must reach every session"),
    ("maxconn-auth", "auto", str, "maxconn: auto (SCRAM-SHA-256 where offered, else LOGIN), scram or login"),
    ("tern-env", "", str, "extra environment for tern serve, e.g. MALLOC_MMAP_THRESHOLD_=131072"),
    ("port-offset", 0, int, "added to every port (Tern 20143/20024/20025, Dovecot 21143/21024, Cyrus "
     "23143/23024, the fake IDLE server 22143 (LMTP 22024)), so that two runs on one machine do not collide"),
]
FULL = {"delivery_msgs": 5000, "big_msgs": 100000}
QUICK = {"delivery_msgs": 20, "mix_msgs": 30, "mix_seconds": 5, "mix_rounds": 2, "big_msgs": 1000,
         "big_reps": 1, "login_seconds": 3, "idle_conns": 100, "idle_deliveries": 5,
         "delivery_mix": "1KB:100,10KB:50,100KB:20,1MB:5", "maxconn_peer_cap": 200}


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


# Kernel limits the per-session peers need during the run (raised, never lowered, and put back
# at the end). Dovecot's IDLE takes one inotify instance per `imap` process. Cyrus's `imapd`
# processes and `idled` talk over Unix datagram sockets: with 1,500 IDLE sessions and the
# defaults, (1) idled's receive queue (`max_dgram_qlen`, 10 datagrams) overflows when every
# imapd answers one change at once (IDLE stop + start), and (2) idled's non-blocking sends of
# one change to every imapd fail with EAGAIN once its send buffer (`wmem_default`, 208 KiB)
# is full, whereupon idled forgets that session: either way the session only learns of new
# mail from its own 60 s poll. A socket takes both values when it is created, so they are
# raised before the servers start.
SYSCTLS = {"inotify": "/proc/sys/fs/inotify/max_user_instances", "dgram": "/proc/sys/net/unix/max_dgram_qlen",
           "wmem": "/proc/sys/net/core/wmem_default"}


def raise_sysctls(sessions, cyrus):
    """Returns {path: (old value, new value)} of what it raised."""
    want = {SYSCTLS["inotify"]: sessions + 1024}
    if cyrus:
        want[SYSCTLS["dgram"]] = 4 * sessions + 1024
        want[SYSCTLS["wmem"]] = 4096 * sessions
    changed = {}
    for path, n in want.items():
        try:
            cur = int(open(path).read())
            if n > cur:
                open(path, "w").write(str(n))
                changed[path] = (cur, n)
        except OSError:
            pass
    return changed


def restore_sysctls(changed):
    for path, (v, _) in changed.items():
        try:
            open(path, "w").write(str(v))
        except OSError:
            pass


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
    unknown = [n for n in names if n not in ("tern", "dovecot", "cyrus")] + [w for w in todo if w not in WORKLOADS]
    if unknown:
        sys.exit(f"bench/run: unknown server or workload: {', '.join(unknown)}")
    if "tern" not in names:
        sys.exit("bench/run: --servers must include tern (the table is Tern against each peer)")
    a.mix_classes = w_delivery.parse_mix(a.delivery_mix)
    a.cyrus_bindir = cyrus_bindir(a.cyrus_bin) if "cyrus" in names else None
    a.idlegen = idle_generator(a) if ("idle" in todo or "big" in todo) else None
    deliv = [f"deliv{k:02d}@{servers.DOMAIN}" for k in range(1, a.delivery_sessions + 1)]
    mix = [f"mix{k:02d}@{servers.DOMAIN}" for k in range(1, a.mix_users + 1)]
    big, idle, maxc = f"big@{servers.DOMAIN}", f"idle@{servers.DOMAIN}", f"maxconn@{servers.DOMAIN}"
    users = deliv + mix + [big, idle, maxc]

    log("machine: measuring the fsync rate")
    info = machine(a.work)
    log(f"machine: {info['nproc']} cores, {info['mem_gib']} GiB, fsync/s 1 thread {info['fsync_per_s_1']}, "
        f"8 threads {info['fsync_per_s_8']}, load {' '.join(info['loadavg_start'])}")

    # Sessions a server must accept at once: the IDLE count, and for maxconn Tern's whole
    # open-file limit (peers: the cap).
    maxconn = "maxconn" in todo
    tern_sessions = max(a.idle_conns, (a.maxconn_target or resource.getrlimit(resource.RLIMIT_NOFILE)[1])
                        if maxconn else 0)
    peer_sessions = max(a.idle_conns, a.maxconn_peer_cap if maxconn else 0)
    tern = servers.Tern(a.work, a.tern_bin, tern_sessions,
                        dict(kv.split("=", 1) for kv in a.tern_env.split() if "=" in kv), a.port_offset)
    run_servers = []
    for n in names:
        if n == "tern":
            run_servers.append(tern)
        elif n == "dovecot":
            run_servers.append(servers.Dovecot(a.work, a.dovecot_format, peer_sessions, a.port_offset))
        else:
            run_servers.append(servers.Cyrus(a.work, a.cyrus_bindir, peer_sessions, a.port_offset))
    log(f"setup: {len(users)} users in Tern (argon2id hashes); the same hashes in Dovecot; "
        "the same passwords in Cyrus's sasldb")
    tern.setup(users)
    for s in run_servers:
        if s.name == "dovecot":
            s.setup(users, tern.hashes())
        elif s.name == "cyrus":
            s.setup(users)
    old_sysctls = raise_sysctls(peer_sessions, "cyrus" in names)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    info["sysctls_raised"] = {path.replace("/proc/sys/", "").replace("/", "."): f"{o} → {n}"
                              for path, (o, n) in old_sysctls.items()}
    results = {"params": {k.replace("-", "_"): getattr(a, k.replace("-", "_")) for k, *_ in PARAMS},
               "machine": info, "servers": {}}
    if "idle" in todo:
        results["idle_loadgen"] = a.idlegen or "python"
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
            directory = None
            if wl in DIRECTORY_WORKLOADS:
                directory = start_directory(wl, a, mix, results)
                if directory is None:
                    continue
            try:
                run_each(wl, order, a, results, deliv, mix, big, idle, maxc, directory)
            finally:
                if directory:
                    directory.stop()
                    log(f"{wl}: {type(directory).__name__} stopped")
            if wl == "big":
                floor = w_big.client_floor(a.big_msgs, a.idlegen)
                results["big_floor_ms"] = floor["fetch_uid_flags"]
                results["big_envelope_floor_ms"] = floor["fetch_envelope_100"]
                results["big_loadgen"] = "rust" if a.idlegen else "python"
                log(f"big: the load generator's own times (fake server): {floor} ms")
            if wl == "idle":
                log("idle: the load generator's floor (fake server) ...")
                try:
                    results["idle_floor"] = w_idle_floor.run(a.idle_conns, a.idle_procs, a.idle_deliveries,
                                                             a.idle_gap, a.idle_open_conc,
                                                             w_idle_floor.PORT + a.port_offset, a.idlegen,
                                                             w_idle_floor.LMTP_PORT + a.port_offset)
                except Exception as e:
                    results["idle_floor"] = {"failed": f"{type(e).__name__}: {str(e)[:300]}"}
                log(f"idle: floor: {results['idle_floor']}")
    finally:
        for s in run_servers:
            s.stop()
            log(f"{s.name}: stopped")
        restore_sysctls(old_sysctls)
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["total_s"] = round(time.time() - started, 1)
    emit(results, a)


def start_directory(wl, a, mix, results):
    """The directory of ldaplogins (its slapd) or adlogins (the Samba AD DC, under the tests'
    lock), started with the `mix` users; None (and the failure in results) if it did not start."""
    if wl == "ldaplogins":
        d = w_ldaplogins.Slapd(os.path.join(a.work, "ldaplogins"), a.port_offset)
    else:
        d = w_adlogins.SambaDC(os.path.join(a.work, "adlogins"), log)
        log("adlogins: provisioning the Samba AD DC (scripts/peers.sh up samba; minutes)")
    try:
        if wl == "ldaplogins":
            d.setup(mix)
            d.start()
        else:
            d.start(mix)
        results.setdefault(f"{wl}_setup", {})["directory"] = d.describe()
        log(f"{wl}: {type(d).__name__} up, {d.url}, {len(mix)} users")
        return d
    except (Exception, KeyboardInterrupt) as e:
        d.stop()
        if isinstance(e, KeyboardInterrupt):
            raise
        results[wl]["tern"] = {"failed": f"{type(d).__name__}: {type(e).__name__}: {str(e)[:500]}"}
        log(f"{wl}: directory failed: {e}")
        return None


def run_each(wl, order, a, results, deliv, mix, big, idle, maxc, directory=None):
    """One workload against each server of `order`, into results[wl][server]."""
    for s in order:
        if wl in SMTP_ONLY and not s.smtp:
            continue  # Dovecot and Cyrus have no SMTP listener of their own
        if wl in DIRECTORY_WORKLOADS and s.name == "dovecot" and not w_ldaplogins.dovecot_ldap_available():
            results[wl][s.name] = {"failed": "Dovecot's LDAP module is not installed (apt-get install dovecot-ldap)"}
            continue
        t = time.perf_counter()
        cpu0 = s.cpu()
        log(f"{wl}: {s.name} ...")
        try:
            if wl in DIRECTORY_WORKLOADS:  # its own second server instance, measured by the workload itself
                mod = DIRECTORY_WORKLOADS[wl]
                res = mod.run(s.name, a, directory, mix)
                results.setdefault(f"{wl}_setup", {})[s.name] = mod.describe(s.name, directory)
            else:
                res = run_workload(wl, s, a, deliv, mix, big, idle, maxc)
                # The whole workload's, set-up included; a workload that measured its own
                # window (delivery: smtp-source's run; mixed: the commands) keeps that one.
                res["server_cpu_total_s"] = round(s.cpu() - cpu0, 2)
                res.setdefault("server_cpu_s", res["server_cpu_total_s"])
                per_unit(wl, res)
        except (Exception, KeyboardInterrupt) as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            res = {"failed": f"{type(e).__name__}: {str(e)[:500]}"}
        res["wall_s"] = round(time.perf_counter() - t, 1)
        results[wl][s.name] = res
        log(f"{wl}: {s.name}: {summary(wl, res)}")


def per_unit(wl, res):
    """Server CPU per unit of work: comparable even when the machine is shared."""
    unit = {"delivery": "messages", "smtp": "messages", "sizemix": "messages", "smtpmix": "messages",
            "mixed": "commands", "logins": "logins"}.get(wl)
    if unit and res.get(unit):
        res["cpu_ms_per_unit"] = round(res["server_cpu_s"] * 1000 / res[unit], 3)
    if res.get("payload_mb"):
        res["cpu_ms_per_mb"] = round(res["server_cpu_s"] * 1000 / res["payload_mb"], 2)
    count = res.get("messages") if wl in ("delivery", "smtp") else res.get("commands") if wl == "mixed" else None
    if count and "loadgen_cpu_s" in res:
        # The rate the machine's cores allow if the server and the load generator used all of
        # them and nothing else did: the CPU-bound ceiling of this measurement for this server.
        both = (res["server_cpu_s"] + res["loadgen_cpu_s"]) * 1000 / count
        if both > 0:
            res["cpu_ceiling_msgs_per_s"] = round((os.cpu_count() or 1) * 1000 / both, 1)
            res["cores_busy"] = round((res["server_cpu_s"] + res["loadgen_cpu_s"]) / res["seconds"], 2)


def idle_generator(a):
    """The Rust IDLE load generator's binary, or None for the Python one (--idle-loadgen)."""
    if a.idle_loadgen not in ("auto", "rust", "python"):
        sys.exit(f"bench/run: --idle-loadgen must be auto, rust or python, not {a.idle_loadgen!r}")
    if a.idle_loadgen == "python":
        return None
    gen, why = idlegen.find(a.idlegen_bin, a.tern_bin)
    if gen is None:
        if a.idle_loadgen == "rust":
            sys.exit(f"bench/run: the Rust IDLE load generator: {why} (bench/run builds it unless --no-build)")
        log(f"idle: the Rust load generator is missing ({why}): the Python one measures IDLE")
    return gen


def cyrus_bindir(given):
    """Where Cyrus's imapd and idled are: --cyrus-bin, the installed cyrus-imapd, or the .deb
    that bench/run unpacked (cyrus-imapd conflicts with dovecot-imapd)."""
    for d in ([given] if given else ["/usr/lib/cyrus/bin", os.path.join(BENCH, ".cyrus/root/usr/lib/cyrus/bin")]):
        if os.access(os.path.join(d, "imapd"), os.X_OK) and os.access(os.path.join(d, "idled"), os.X_OK):
            return d
    sys.exit("bench/run: no Cyrus imapd/idled found (bench/run unpacks cyrus-imapd into bench/.cyrus; "
             "or pass --cyrus-bin DIR, or leave cyrus out of --servers)")


def run_workload(wl, s, a, deliv, mix, big, idle, maxc):
    if wl == "logins":
        return w_logins.run(s, mix, a.login_clients, a.login_seconds)
    if wl in ("delivery", "smtp"):
        return w_delivery.run(s, deliv, a.delivery_msgs, a.delivery_size, a.delivery_mode,
                              "smtp" if wl == "smtp" else "lmtp")
    if wl in ("sizemix", "smtpmix"):
        return w_delivery.run_mix(s, deliv, a.mix_classes, a.delivery_mix_sessions,
                                  "smtp" if wl == "smtpmix" else "lmtp")
    if wl == "mixed":
        prep = w_mixed.prepare(s, mix, a.mix_msgs, a.mix_size)
        cpu0 = s.cpu()  # the server's CPU for the commands, not for filling the mailboxes
        res = w_mixed.run(s, mix, a.mix_clients, a.mix_seconds, a.mix_rounds, a.mix_size, a.mix_procs)
        res["server_cpu_s"] = round(s.cpu() - cpu0, 2)
        res["prepare_s"] = round(prep, 1)
        return res
    if wl == "big":
        return w_big.run(s, big, a.big_msgs, a.big_size, a.big_reps, a.idlegen)
    if wl == "idle":
        return w_idle.run(s, idle, a.idle_conns, a.idle_procs, a.idle_deliveries, a.idle_gap, 10240,
                          a.idle_open_conc, a.idlegen)
    if wl == "maxconn":
        return w_maxconn.run(s, maxc, a.maxconn_target, a.maxconn_peer_cap, a.maxconn_procs,
                             a.maxconn_open_conc, a.maxconn_deliveries, a.maxconn_auth)
    raise ValueError(wl)


def summary(wl, r):
    if "failed" in r:
        return "FAILED " + r["failed"]
    if wl in DIRECTORY_WORKLOADS:
        dkey = "slapd" if wl == "ldaplogins" else "samba"
        return "; ".join(f"{p}: " + ", ".join(f"{k}={r[p].get(k)}" for k in
                                              ("logins_per_s", "p50_ms", "p99_ms", "cpu_ms_per_login",
                                               f"{dkey}_cpu_ms_per_login", "loadgen_cpu_s", "seconds",
                                               "protocol_errors"))
                         for p in ("cold", "warm") if p in r) + (f", errors={r['errors'][:2]}" if r.get("errors") else "")
    keys = {"logins": ["logins_per_s", "p50_ms", "protocol_errors", "rss_growth_mib"],
            "delivery": ["msgs_per_s", "seconds", "counted"],
            "smtp": ["msgs_per_s", "seconds", "counted"],
            "sizemix": ["msgs_per_s", "mb_per_s", "seconds", "counted"],
            "smtpmix": ["msgs_per_s", "mb_per_s", "seconds", "counted"],
            "maxconn": ["auth", "target", "opened", "server_processes", "rss_per_conn_kib", "pss_per_conn_kib",
                        "fanout_max_s", "exists_p99_ms", "reached_all", "protocol_errors"],
            "mixed": ["cmds_per_s", "p50_ms", "p99_ms", "protocol_errors", "loadgen_cpu_s"],
            "big": ["append_msgs_per_s", "median_ms"],
            "idle": ["loadgen", "opened", "rss_per_conn_kib", "rss_marginal_kib", "pss_marginal_kib", "exists_p50_ms", "exists_p99_ms",
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
    peers = " and ".join(report.NAMES.get(p, p) for p in report.peers_of(results))
    head = [f"# Tern vs {peers}, {stamp}" if peers else f"# Tern, {stamp}", "",
            f"- machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}",
            f"- disk: `{m['df']}`; fsync/s (4 KiB rewrite): {m['fsync_per_s_1']} (1 thread), "
            f"{m['fsync_per_s_8']} (8 threads)",
            f"- load average (1, 5, 15 min) at start {' '.join(m['loadavg_start'])}, at end "
            f"{' '.join(m['loadavg_end'])} (a per-session process each, Dovecot's and Cyrus's IDLE "
            "sessions wake at once and raise it); 1-min load as each workload began: "
            + ", ".join(f"{k} {v}" for k, v in m.get("loadavg_at", {}).items()),
            ] + ([f"- kernel limits raised for the run (and restored): "
                  + (", ".join(f"{k} {v}" for k, v in m["sysctls_raised"].items()) or "none")]
                 if "sysctls_raised" in m else []) + [
            f"- tern: git {m['git']}; total run {results['total_s']} s",
            ] + [f"- {k}: {v}" for k, v in results["servers"].items()] + [
            f"- {wl}, {k}: {v}" for wl in DIRECTORY_WORKLOADS for k, v in results.get(f"{wl}_setup", {}).items()] + [
            f"- parameters: `{json.dumps(results['params'])}`", ""]
    body = report.table(results)
    if results.get("big_floor_ms") is not None:
        client = ("the Rust load generator, bench/idlegen `timed`" if results.get("big_loadgen") == "rust"
                  else "the Python load generator")
        body += (f"\n\nBig mailbox: the load generator itself ({client}) takes {results['big_floor_ms']} ms to read "
                 f"`FETCH 1:* (UID FLAGS)` of {results['params']['big_msgs']:,} messages from a fake server "
                 "(loopback, canned response)")
        if results.get("big_envelope_floor_ms") is not None:
            body += f", and {results['big_envelope_floor_ms']} ms for the ENVELOPE of the newest 100"
        body += "."
    fl = results.get("idle_floor")
    if fl and "failed" not in fl:
        gen = {"rust": "the Rust load generator, bench/idlegen", "python": "the Python load generator"}.get(
            fl.get("loadgen", "python"), fl.get("loadgen"))
        body += (f"\n\nIDLE → EXISTS floor of the load generator itself ({gen}; same client, {fl['opened']} "
                 f"sessions on a fake server that writes every EXISTS at once): p50 {fl['exists_p50_ms']} ms, "
                 f"p99 {fl['exists_p99_ms']} ms"
                 + (f" (of which the fake server's own loop of writes to the {fl['opened']} sessions: p50 "
                    f"{fl['fake_fanout_p50_ms']} ms, max {fl['fake_fanout_max_ms']} ms per delivery)"
                    if "fake_fanout_p50_ms" in fl else "")
                 + ". Server figures are only meaningful above it.")
    mc = results.get("maxconn") or {}
    for name, r in mc.items():
        if isinstance(r, dict) and "opened" in r:
            how = (f"its open-file limit is {r['fd_limit']:,}, {r['fds_after']:,} descriptors open at the end"
                   if r.get("fd_limit") else f"the cap was {r['target']:,} sessions (`--maxconn-peer-cap`)")
            body += (f"\n\nMax IDLE, {report.NAMES.get(name, name)}: {r['opened']:,} of {r['target']:,} sessions "
                     f"opened ({r['auth']}), {r['server_processes']:,} server processes; {how}; "
                     f"every delivery reached every session: {'yes' if r['reached_all'] else 'NO'}.")
    fails = report.failures(results)
    return "\n".join(head) + "\n" + body + "\n" + ("\nErrors:\n" + "\n".join(fails) + "\n" if fails else "")


if __name__ == "__main__":
    main()
