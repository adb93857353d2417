"""Drives Tern's SMTP server with Python's smtplib; prints one JSON object of results.

usage: smtplib_client.py MX_PORT SUBMISSION_PORT SUBMISSIONS_PORT PASSWORD

The Rust test (smtp_clients.rs) checks the printed results and the delivered mailboxes.
"""
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage

mx_port, sub_port, ssl_port = (int(a) for a in sys.argv[1:4])
password = sys.argv[4]
out = {}

# --- The MX: EHLO, extensions, delivery, a refused recipient, relay refused. -------------
mx = smtplib.SMTP("127.0.0.1", mx_port, local_hostname="py.client.test")
code, _ = mx.ehlo()
out["mx_ehlo"] = code
out["mx_extensions"] = sorted(mx.esmtp_features.keys())
message = b"Subject: from smtplib\r\n\r\n.leading dot\r\nbody\r\n"
refused = mx.sendmail("sender@other.test", ["bob@example.test", "nobody@example.test"], message)
out["mx_refused"] = {k: [v[0], v[1].decode()] for k, v in refused.items()}
try:
    mx.sendmail("sender@other.test", ["victim@other.test"], message)
    out["mx_relay"] = "accepted"
except smtplib.SMTPRecipientsRefused as e:
    out["mx_relay"] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
mx.quit()

# --- 587: STARTTLS (unverified context: self-signed), AUTH PLAIN, sendmail. --------------
sub = smtplib.SMTP("127.0.0.1", sub_port, local_hostname="py.client.test")
sub.ehlo()
out["sub_auth_before_tls"] = sub.has_extn("auth")
try:
    sub.login("alice@example.test", password)
    out["sub_login_before_tls"] = "accepted"
except smtplib.SMTPNotSupportedError:
    out["sub_login_before_tls"] = "not offered"
sub.starttls(context=ssl._create_unverified_context())
sub.ehlo()
out["sub_auth_after_tls"] = sub.esmtp_features.get("auth", "").strip()
try:
    sub.login("alice@example.test", "wrong password")
    out["sub_bad_login"] = "accepted"
except smtplib.SMTPAuthenticationError as e:
    out["sub_bad_login"] = [e.smtp_code, e.smtp_error.decode()]
code, _ = sub.login("alice@example.test", password)  # smtplib picks PLAIN
out["sub_login"] = code
m = EmailMessage()
m["From"] = "Alice <alice@example.test>"
m["To"] = "bob@example.test, friend@other.test"
m["Subject"] = "submitted with smtplib"
m.set_content("Hello Bob.\n")
out["sub_send"] = {k: list(v) for k, v in sub.send_message(m).items()}
try:
    forged = EmailMessage()
    forged["From"] = "bob@example.test"
    forged["To"] = "bob@example.test"
    forged["Subject"] = "forged"
    forged.set_content("x\n")
    sub.send_message(forged, from_addr="bob@example.test")
    out["sub_forged"] = "accepted"
except smtplib.SMTPSenderRefused as e:
    out["sub_forged"] = [e.smtp_code, e.smtp_error.decode()]
sub.quit()

# --- 465: implicit TLS, AUTH LOGIN explicitly. --------------------------------------------
tls = smtplib.SMTP_SSL("127.0.0.1", ssl_port, local_hostname="py.client.test",
                       context=ssl._create_unverified_context())
tls.ehlo()
tls.user, tls.password = "alice@example.test", password
code, _ = tls.auth("LOGIN", tls.auth_login, initial_response_ok=False)
out["ssl_login"] = code
refused = tls.sendmail("alice@example.test", ["bob@example.test"],
                       b"From: alice@example.test\r\nSubject: over 465\r\n\r\nno date, no id\r\n")
out["ssl_refused"] = refused
tls.quit()

print(json.dumps(out, sort_keys=True))
