"""Real peer services for the tests (Samba AD DC, OpenLDAP, MIT KDC, Dovecot, Cyrus,
smtp-sink, rspamd, clamd, PostgreSQL), started on loopback by `scripts/peers.sh`.

    from peers import peer
    @pytest.fixture(scope="module")
    def samba():
        return peer("samba")        # starts it once per pytest run; stopped when pytest exits

`peer(name)` fails the test (never skips) when the service cannot start: CI installs every
package (scripts/test.sh), so a missing daemon is a defect, not a reason to skip. Accounts
and ports of each service are in the comment on its function in scripts/peers.sh.
"""

import atexit
import os
import subprocess
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "peers.sh")
STATE = os.environ.get("TERN_PEERS_DIR", os.path.join(ROOT, ".peers"))

_started = set()
_lock = threading.Lock()


def state_dir(name=""):
    """The folder scripts/peers.sh keeps a service's files in (e.g. samba/krb5.conf)."""
    return os.path.join(STATE, name) if name else STATE


def peer(name):
    """Starts the named service unless this pytest run already did; returns its state dir."""
    with _lock:
        if name not in _started:
            env = dict(os.environ, P=STATE)
            r = subprocess.run(["bash", SCRIPT, "up", name], env=env,
                               capture_output=True, text=True, timeout=900)
            if r.returncode != 0:
                raise RuntimeError(f"peer {name} did not start:\n{r.stdout}\n{r.stderr}")
            if not _started:
                atexit.register(_down)
            _started.add(name)
    return state_dir(name)


def _down():
    env = dict(os.environ, P=STATE)
    subprocess.run(["bash", SCRIPT, "down"], env=env, capture_output=True, timeout=300)
