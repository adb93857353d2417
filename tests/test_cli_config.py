"""`tern check-config` (DESIGN.md operator contract): a valid file passes; every problem of
an invalid one is reported at once, each with the file, the key and the reason."""

import subprocess

from harness import TERN_BIN


def check(path):
    return subprocess.run([TERN_BIN, "check-config", "--config", str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_valid_config(tmp_path):
    cfg = tmp_path / "ok.toml"
    cfg.write_text(f'hostname = "mail.example.test"\ndata_dir = "{tmp_path}/data"\n'
                   'local_domains = ["example.test"]\n[listen]\nimap = ["127.0.0.1:0"]\n'
                   '[quota]\ndefault = "1GB"\n[auth]\nallow_plaintext = false\n')
    res = check(cfg)
    assert res.returncode == 0, res.stderr.decode()


def test_every_error_reported_with_file_and_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('hostname = "mail.example.test"\nno_such_key = 1\n'
                   '[listen]\nimap = ["not-an-address"]\n'
                   '[quota]\ndefault = "lots"\n[auth]\nallow_plaintext = "maybe"\n')
    res = check(cfg)
    assert res.returncode != 0
    out = (res.stdout + res.stderr).decode()
    lines = [l for l in out.splitlines() if "bad.toml" in l]
    for key in ("no_such_key", "listen.imap", "quota.default", "auth.allow_plaintext"):
        assert any(key in l for l in lines), f"{key} not reported with the file name:\n{out}"


def test_serve_refuses_bad_config_without_touching_data(tmp_path):
    data = tmp_path / "data"
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'data_dir = "{data}"\n[quota]\ndefault = "lots"\n')
    res = subprocess.run([TERN_BIN, "serve", "--config", str(cfg)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert res.returncode != 0
    assert b"quota.default" in res.stderr
    assert not data.exists()  # main.rs: a config problem stops before the data folder
