"""The results table: absolute figures per server and the ratio Tern/peer for each peer (Dovecot,
Cyrus), with the issue-7 targets and whether this run meets them against each peer. Markdown,
printed and written to bench/results/.
"""

# (workload, key in that workload's result, label, unit, better, target)
# better: "higher" or "lower"; target: None, ("ratio>=", x), ("ratio<=", x), ("tern<=", x),
# ("tern<", x) or ("zero",).
ROWS = [
    ("delivery", "msgs_per_s", "LMTP delivery (smtp-source -L)", "msg/s", "higher", ("ratio>=", 3)),
    ("delivery", "cpu_ms_per_unit", "LMTP delivery: server CPU per message", "ms", "lower", None),
    ("delivery", "loadgen_cpu_ms_per_msg", "LMTP delivery: smtp-source CPU per message", "ms", "lower", None),
    ("delivery", "cores_busy", "LMTP delivery: cores busy (server + smtp-source)", "", "higher", None),
    ("delivery", "cpu_ceiling_msgs_per_s", "LMTP delivery: CPU-bound ceiling (all cores ÷ server + smtp-source CPU per message)", "msg/s", "higher", None),
    ("smtp", "msgs_per_s", "SMTP delivery into Tern's MX (smtp-source, same messages)", "msg/s", "higher", None),
    ("smtp", "cpu_ms_per_unit", "SMTP delivery: server CPU per message", "ms", "lower", None),
    "sizemix",
    "smtpmix",
    ("mixed", "cmds_per_s", "IMAP mixed load", "cmd/s", "higher", ("ratio>=", 2)),
    ("mixed", "cpu_ms_per_unit", "IMAP mixed load: server CPU per command", "ms", "lower", None),
    ("mixed", "cores_busy", "IMAP mixed load: cores busy (server + load generator)", "", "higher", None),
    ("mixed", "cpu_ceiling_msgs_per_s", "IMAP mixed load: CPU-bound ceiling (all cores ÷ server + load generator CPU per command)", "cmd/s", "higher", None),
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
    ("logins", "logins_per_s", "Logins, no cache (Tern, Dovecot: argon2id; Cyrus: sasldb, no hash)", "login/s",
     "higher", None),
    ("logins", "p50_ms", "Login latency p50", "ms", "lower", None),
    ("logins", "cpu_ms_per_unit", "Logins: server CPU per login", "ms", "lower", None),
    ("logins", "rss_growth_mib", "Server RSS growth over the logins run", "MiB", "lower", None),
    ("ldaplogins", "cold.logins_per_s", "LDAP logins (OpenLDAP), cold: no cache, search + bind each", "login/s",
     "higher", None),
    ("ldaplogins", "cold.p50_ms", "LDAP logins, cold: p50", "ms", "lower", None),
    ("ldaplogins", "cold.p99_ms", "LDAP logins, cold: p99", "ms", "lower", None),
    ("ldaplogins", "cold.cpu_ms_per_login", "LDAP logins, cold: server CPU per login", "ms", "lower", None),
    ("ldaplogins", "cold.slapd_cpu_ms_per_login", "LDAP logins, cold: slapd CPU per login", "ms", "lower", None),
    ("ldaplogins", "warm.logins_per_s", "LDAP logins, warm: cache on, every user logged in once", "login/s",
     "higher", None),
    ("ldaplogins", "warm.p50_ms", "LDAP logins, warm: p50", "ms", "lower", None),
    ("ldaplogins", "warm.p99_ms", "LDAP logins, warm: p99", "ms", "lower", None),
    ("ldaplogins", "warm.cpu_ms_per_login", "LDAP logins, warm: server CPU per login", "ms", "lower", None),
    ("ldaplogins", "warm.slapd_cpu_ms_per_login", "LDAP logins, warm: slapd CPU per login", "ms", "lower", None),
    ("ldaplogins", "protocol_errors", "LDAP logins: errors (cold + warm)", "", "lower", ("zero",)),
    ("adlogins", "cold.logins_per_s", "AD logins (Samba AD DC), cold: no cache; Tern: KDC checks the password, "
     "peers: LDAP bind", "login/s", "higher", None),
    ("adlogins", "cold.p50_ms", "AD logins, cold: p50", "ms", "lower", None),
    ("adlogins", "cold.p99_ms", "AD logins, cold: p99", "ms", "lower", None),
    ("adlogins", "cold.cpu_ms_per_login", "AD logins, cold: server CPU per login", "ms", "lower", None),
    ("adlogins", "cold.samba_cpu_ms_per_login", "AD logins, cold: Samba CPU per login", "ms", "lower", None),
    ("adlogins", "ldapbind.cold.logins_per_s", "AD logins, cold, Tern without [kerberos]: the password checked by "
     "an LDAP bind, as the peers do", "login/s", "higher", None),
    ("adlogins", "ldapbind.cold.p50_ms", "AD logins, cold, Tern with LDAP bind: p50", "ms", "lower", None),
    ("adlogins", "ldapbind.cold.cpu_ms_per_login", "AD logins, cold, Tern with LDAP bind: server CPU per login", "ms",
     "lower", None),
    ("adlogins", "ldapbind.cold.samba_cpu_ms_per_login", "AD logins, cold, Tern with LDAP bind: Samba CPU per login",
     "ms", "lower", None),
    ("adlogins", "warm.logins_per_s", "AD logins, warm: cache on, every user logged in once", "login/s",
     "higher", None),
    ("adlogins", "warm.p50_ms", "AD logins, warm: p50", "ms", "lower", None),
    ("adlogins", "warm.p99_ms", "AD logins, warm: p99", "ms", "lower", None),
    ("adlogins", "warm.cpu_ms_per_login", "AD logins, warm: server CPU per login", "ms", "lower", None),
    ("adlogins", "warm.samba_cpu_ms_per_login", "AD logins, warm: Samba CPU per login", "ms", "lower", None),
    ("adlogins", "protocol_errors", "AD logins: errors (cold + warm)", "", "lower", ("zero",)),
    ("idle", "opened", "IDLE: sessions held", "", "higher", None),
    ("idle", "rss_per_conn_kib", "IDLE: RSS growth per connection (incl. login)", "KiB", "lower", ("tern<=", 20)),
    ("idle", "pss_per_conn_kib", "IDLE: PSS growth per connection (incl. login)", "KiB", "lower", ("tern<=", 20)),
    ("idle", "rss_marginal_kib", "IDLE: marginal RSS per connection (N/2 → N)", "KiB", "lower", None),
    ("idle", "pss_marginal_kib", "IDLE: marginal PSS per connection (N/2 → N)", "KiB", "lower", None),
    ("idle", "lmtp_250_p50_ms", "IDLE: LMTP delivery 250 p50 (N sessions idle)", "ms", "lower", None),
    ("idle", "exists_p50_ms", "IDLE: delivery → EXISTS p50", "ms", "lower", None),
    ("idle", "exists_p99_ms", "IDLE: delivery → EXISTS p99", "ms", "lower", ("tern<", 50)),
    ("idle", "protocol_errors", "IDLE: errors + missed EXISTS", "", "lower", ("zero",)),
    ("maxconn", "opened", "Max IDLE sessions held (Tern: up to its file limit; peers: up to the cap)", "",
     "higher", None),
    ("maxconn", "server_processes", "Max IDLE: server processes", "", "lower", None),
    ("maxconn", "rss_per_conn_kib", "Max IDLE: RSS growth per session (incl. login)", "KiB", "lower", ("tern<=", 20)),
    ("maxconn", "pss_per_conn_kib", "Max IDLE: PSS growth per session (incl. login)", "KiB", "lower", None),
    ("maxconn", "fanout_max_s", "Max IDLE: delivery → EXISTS in every session (slowest delivery)", "s", "lower", None),
    ("maxconn", "exists_p50_ms", "Max IDLE: delivery → EXISTS p50", "ms", "lower", None),
    ("maxconn", "exists_p99_ms", "Max IDLE: delivery → EXISTS p99", "ms", "lower", None),
    ("maxconn", "protocol_errors", "Max IDLE: failed opens + missed EXISTS", "", "lower", ("zero",)),
]
# Rows whose Tern/peer ratio means nothing (the peers stop at a cap chosen here).
NO_RATIO = {("maxconn", "opened"), ("maxconn", "server_processes"), ("maxconn", "fanout_max_s"),
            ("maxconn", "exists_p50_ms"), ("maxconn", "exists_p99_ms"), ("idle", "opened")}
NAMES = {"tern": "Tern", "dovecot": "Dovecot", "cyrus": "Cyrus"}
MIX_TITLE = {"sizemix": "LMTP size mix", "smtpmix": "SMTP size mix into Tern"}


def _mix_rows(results, wl):
    """The size-mix rows of one run: one per size class, then the whole mix."""
    per = results.get(wl) or {}
    classes = next((r["classes"] for r in per.values() if isinstance(r, dict) and r.get("classes")), None)
    if not classes:
        return []
    t = MIX_TITLE[wl]
    rows = [(wl, f"classes.{i}.msgs_per_s", f"{t}: {c['label']} payloads ({c['messages']:,} msgs)", "msg/s",
             "higher", None) for i, c in enumerate(classes)]
    return rows + [
        (wl, "msgs_per_s", f"{t}: all classes at once", "msg/s", "higher", None),
        (wl, "mb_per_s", f"{t}: payload throughput", "MB/s", "higher", None),
        (wl, "cpu_ms_per_mb", f"{t}: server CPU per MB", "ms", "lower", None),
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


def peers_of(results):
    """The peers of a run, in the order they ran (none when only Tern ran)."""
    return [n for n in results.get("servers", {}) if n != "tern"]


def table(results):
    peers = peers_of(results)
    names = [NAMES.get(p, p) for p in peers]
    lines = ["| workload | unit | Tern | " + " | ".join(names) + " | "
             + " | ".join(f"Tern/{n}" for n in names) + " | better | target | met |",
             "|---|---|---:|" + "---:|" * (2 * len(peers)) + "---|---|---|"]
    if not peers:
        lines = ["| workload | unit | Tern | better | target | met |", "|---|---|---:|---|---|---|"]
    rows = []
    for row in ROWS:
        rows.extend(_mix_rows(results, row) if isinstance(row, str) else [row])
    for wl, key, label, unit, better, target in rows:
        res = results.get(wl)
        if not res:
            continue
        t = _get(res.get("tern") or {}, key)
        ps = [_get(res.get(p) or {}, key) for p in peers]
        if t is None and all(p is None for p in ps):
            continue
        ratios = []
        for p in ps:
            ratio = "—"
            if (wl, key) not in NO_RATIO and isinstance(t, (int, float)) and isinstance(p, (int, float)) and p:
                r = t / p
                ratio = f"{r:.2f}" if abs(r) >= 0.1 else f"{r:.4f}"
            ratios.append(ratio)
        if target and target[0] in ("ratio>=", "ratio<="):  # against each peer, in column order
            met = " / ".join(m or "—" for m in (_met(target, t, p) for p in ps))
        else:  # a target for Tern alone
            met = _met(target, t, None)
        cells = [_fmt(t)] + [_fmt(p) for p in ps] + ratios
        lines.append(f"| {label} | {unit} | " + " | ".join(cells) + f" | {better} | {_target(target)} | {met} |")
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
