"""Fixtures for the real-client test suite (see README.md and harness.py).

- `server`: one `tern serve` per test module (allow_plaintext = true; imap, imaps, lmtp).
  Tests stay isolated by each using fresh accounts (`user`, `user2`, `server.add_user()`).
- `make_server(**options)`: a server of its own for one test (another config, or state that
  must not be shared), stopped by PID when the test ends.
- `imap`: an imaplib connection logged in as `user`; `raw`: a RawImap logged in as `user`.
"""

import pytest

from harness import TernServer

# ---- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = TernServer(str(tmp_path_factory.mktemp("tern"))).start()
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path):
    started = []

    def make(**options):
        s = TernServer(str(tmp_path / f"srv{len(started)}"), **options)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def user(server):
    return server.add_user()


@pytest.fixture
def user2(server):
    return server.add_user()


@pytest.fixture
def imap(server, user):
    c = server.imap(user)
    yield c
    try:
        c.logout()
    except Exception:
        pass


@pytest.fixture
def raw(server, user):
    r = server.raw(user)
    yield r
    r.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, show the tail of the server's log next to the assertion."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for name in ("server",):
            srv = item.funcargs.get(name)
            if isinstance(srv, TernServer):
                report.sections.append(("tern serve log (tail)", srv.log_tail()))
