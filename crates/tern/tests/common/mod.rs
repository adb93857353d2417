//! Helpers for driving the real `tern` binary: commands in a temp folder, and a running
//! `tern serve` whose ports are read from its stdout.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_tern");

/// A `tern` command run in `cwd`, with no config inherited from the environment.
pub fn tern(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd)
        .env_remove("TERN_CONFIG")
        .env("RUST_LOG", "warn");
    cmd
}

/// Runs `tern ARGS` in `cwd` with `stdin` fed in.
pub fn run(cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = tern(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tern");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes a config listening on port 0 for every implemented service (smtp, submission,
/// submissions, imap, imaps, pop3, pop3s, lmtp), with plaintext logins allowed; returns its
/// path. `extra` is appended after the `[auth]` table.
pub fn port0_config(dir: &Path, data_dir: Option<&Path>, extra: &str) -> PathBuf {
    let data = data_dir
        .map(|d| format!("data_dir = {:?}\n", d.display().to_string()))
        .unwrap_or_default();
    // The MX verifies SPF/DKIM/DMARC by default, which needs DNS: off unless the test
    // configures it, so that nothing asks the machine's resolver.
    let msgauth = if extra.contains("[auth_results]") {
        ""
    } else {
        "[auth_results]\nverify = false\n"
    };
    // The outbound queue resolves through a port where nothing answers (mail waits).
    let dns = if extra.contains("[dns]") {
        ""
    } else {
        "[dns]\nnameservers = [\"127.0.0.1:9\"]\n"
    };
    let text = format!(
        "hostname = \"mail.example.test\"\n{data}local_domains = [\"example.test\"]\n\
         [listen]\nsmtp = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\n\
         submissions = [\"127.0.0.1:0\"]\nimap = [\"127.0.0.1:0\"]\nimaps = [\"127.0.0.1:0\"]\n\
         pop3 = [\"127.0.0.1:0\"]\npop3s = [\"127.0.0.1:0\"]\nlmtp = [\"127.0.0.1:0\"]\n\
         [auth]\nallow_plaintext = true\n{msgauth}{dns}{extra}"
    );
    let path = dir.join("test.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `tern serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub ports: HashMap<String, u16>,
    /// Every stdout line up to and including the ready line.
    pub banner: Vec<String>,
}

impl Server {
    /// Starts `tern serve ARGS` in `cwd` and waits for `tern: ready`.
    pub fn start(cwd: &Path, args: &[&str]) -> Server {
        let mut child = tern(cwd)
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tern serve");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let mut ports = HashMap::new();
        loop {
            let line = match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => l,
                Err(e) => {
                    let _ = child.kill();
                    panic!("no ready line ({e}); got {banner:?}");
                }
            };
            if let Some((service, addr)) = line.split_once(" listening on ") {
                let port = addr.rsplit_once(':').unwrap().1.parse().unwrap();
                ports.insert(service.to_string(), port);
            }
            let ready = line == "tern: ready";
            banner.push(line);
            if ready {
                break;
            }
        }
        Server {
            child,
            ports,
            banner,
        }
    }

    pub fn port(&self, service: &str) -> u16 {
        self.ports[service]
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tern serve did not exit within 15s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line-oriented TCP client for protocol checks.
pub struct LineClient {
    reader: BufReader<std::net::TcpStream>,
}

impl LineClient {
    pub fn connect(port: u16) -> LineClient {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        LineClient {
            reader: BufReader::new(s),
        }
    }

    pub fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).unwrap();
        l
    }

    pub fn send(&mut self, text: &str) {
        self.reader.get_mut().write_all(text.as_bytes()).unwrap();
    }

    /// Reads lines until one starts with `prefix`; returns it.
    pub fn until(&mut self, prefix: &str) -> String {
        loop {
            let l = self.line();
            assert!(!l.is_empty(), "connection closed before {prefix:?}");
            if l.starts_with(prefix) {
                return l;
            }
        }
    }
}
