"""The results table: absolute figures per server and the ratio Tern/peer, with the issue-7
targets and whether this run meets them. Markdown, printed and written to bench/results/.
"""

# (workload, key in that workload's result, label, unit, better, target)
# better: "higher" or "lower"; target: None, ("ratio>=", x), ("ratio<=", x), ("tern<=", x),
# ("tern<", x) or ("zero",).
ROWS = [
    ("delivery", "msgs_per_s", "LMTP delivery (smtp-source)", "msg/s", "higher", ("ratio>=", 3)),
    ("delivery", "cpu_ms_per_unit", "LMTP delivery: server CPU per message", "ms", "lower", None),
    ("mixed", "cmds_per_s", "IMAP mixed load", "cmd/s", "higher", ("ratio>=", 2)),
    ("mixed", "cpu_ms_per_unit", "IMAP mixed load: server CPU per command", "ms", "lower", None),
    ("mixed", "p50_ms", "IMAP mixed load p50", "ms", "lower", None),
    ("mixed", "p99_ms", "IMAP mixed load p99", "ms", "lower", None),
    ("mixed", "p99_nologin_ms", "IMAP mixed load p99 without LOGIN", "ms", "lower", None),
    ("mixed", "protocol_errors", "IMAP mixed load protocol errors", "", "lower", ("zero",)),
    ("big", "append_msgs_per_s", "Big mailbox: MULTIAPPEND fill", "msg/s", "higher", None),
    ("big", "median_ms.select", "Big mailbox: SELECT", "ms", "lower", ("ratio<=", 0.5)),
    ("big", "median_ms.fetch_uid_flags", "Big mailbox: FETCH 1:* (UID FLAGS)", "ms", "lower", ("ratio<=", 0.5)),
    ("big", "median_ms.fetch_envelope_100", "Big mailbox: ENVELOPE of newest 100", "ms", "lower", ("ratio<=", 0.5)),
    ("big", "median_ms.search_header", "Big mailbox: UID SEARCH HEADER Subject", "ms", "lower", ("ratio<=", 0.5)),
    ("big", "median_ms.sort_date", "Big mailbox: SORT (DATE)", "ms", "lower", ("ratio<=", 0.5)),
    ("big", "runs_ms.0.select", "Big mailbox: first SELECT after the fill", "ms", "lower", None),
    ("big", "runs_ms.0.search_header", "Big mailbox: first UID SEARCH HEADER (cold cache)", "ms", "lower", None),
    ("big", "runs_ms.0.sort_date", "Big mailbox: first SORT (DATE) (cold cache)", "ms", "lower", None),
    ("logins", "logins_per_s", "Logins (argon2id, no cache)", "login/s", "higher", None),
    ("logins", "p50_ms", "Login latency p50", "ms", "lower", None),
    ("logins", "cpu_ms_per_unit", "Logins: server CPU per login", "ms", "lower", None),
    ("logins", "rss_growth_mib", "Server RSS growth over the logins run", "MiB", "lower", None),
    ("idle", "rss_per_conn_kib", "IDLE: RSS growth per connection (incl. login)", "KiB", "lower", ("tern<=", 20)),
    ("idle", "pss_per_conn_kib", "IDLE: PSS growth per connection (incl. login)", "KiB", "lower", ("tern<=", 20)),
    ("idle", "rss_marginal_kib", "IDLE: marginal RSS per connection (N/2 → N)", "KiB", "lower", None),
    ("idle", "pss_marginal_kib", "IDLE: marginal PSS per connection (N/2 → N)", "KiB", "lower", None),
    ("idle", "lmtp_250_p50_ms", "IDLE: LMTP delivery 250 p50 (N sessions idle)", "ms", "lower", None),
    ("idle", "exists_p50_ms", "IDLE: delivery → EXISTS p50", "ms", "lower", None),
    ("idle", "exists_p99_ms", "IDLE: delivery → EXISTS p99", "ms", "lower", ("tern<", 50)),
    ("idle", "protocol_errors", "IDLE: errors + missed EXISTS", "", "lower", ("zero",)),
]


def _get(d, key):
    for part in key.split("."):
        if isinstance(d, list) and part.isdigit() and int(part) < len(d):
            d = d[int(part)]
        elif isinstance(d, dict) and part in d:
            d = d[part]
        else:
            return None
    return d


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"
    return f"{v:,}"


def _target(target):
    if target is None:
        return ""
    kind = target[0]
    if kind == "zero":
        return "0"
    return {"ratio>=": "≥ {}×", "ratio<=": "≤ {}×", "tern<=": "Tern ≤ {}", "tern<": "Tern < {}"}[kind].format(target[1])


def _met(target, t, p):
    if target is None or t is None:
        return ""
    kind = target[0]
    if kind == "zero":
        return "yes" if t == 0 else "no"
    if kind == "tern<=":
        if t < 0:  # memory went down: allocator noise, not a measurement
            return "n/a"
        return "yes" if t <= target[1] else "no"
    if kind == "tern<":
        return "yes" if t < target[1] else "no"
    if p in (None, 0):
        return ""
    r = t / p
    return "yes" if (r >= target[1] if kind == "ratio>=" else r <= target[1]) else "no"


def table(results, peer="dovecot"):
    lines = ["| workload | unit | Tern | Dovecot | Tern/Dovecot | better | target | met |",
             "|---|---|---:|---:|---:|---|---|---|"]
    for wl, key, label, unit, better, target in ROWS:
        res = results.get(wl)
        if not res:
            continue
        t = _get(res.get("tern") or {}, key)
        p = _get(res.get(peer) or {}, key)
        if t is None and p is None:
            continue
        ratio = "—"
        if isinstance(t, (int, float)) and isinstance(p, (int, float)) and p:
            r = t / p
            ratio = f"{r:.2f}" if abs(r) >= 0.1 else f"{r:.4f}"
        lines.append(f"| {label} | {unit} | {_fmt(t)} | {_fmt(p)} | {ratio} | {better} | "
                     f"{_target(target)} | {_met(target, t, p)} |")
    return "\n".join(lines)


def failures(results):
    """Lines naming every workload/server that failed or reported errors."""
    out = []
    for wl, per in results.items():
        if not isinstance(per, dict):
            continue
        for srv, res in per.items():
            if not isinstance(res, dict):
                continue
            if res.get("failed"):
                out.append(f"- {wl} / {srv}: FAILED: {res['failed']}")
            for e in (res.get("errors") or [])[:5]:
                out.append(f"- {wl} / {srv}: {e}")
    return out
