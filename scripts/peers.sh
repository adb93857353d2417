#!/bin/bash
# Real peer services on loopback for the tests (Debian 12, as root, no systemd): a Samba AD DC,
# OpenLDAP, an MIT KDC, Dovecot, Cyrus, Postfix's smtp-sink, rspamd, clamd, PostgreSQL.
#   scripts/peers.sh up  [NAME...]    # start the named ones (default: all)
#   scripts/peers.sh down             # stop exactly the PIDs this script started
#   scripts/peers.sh stop NAME... / start NAME...   # stop one service, start it again unchanged (samba, slapd)
#   scripts/peers.sh packages         # the Debian packages they need (scripts/test.sh installs them)
# Every daemon runs in the foreground under '&'; its PID goes to $P/pids/NAME; 'down' kills
# those PIDs only. State lives in $P (default: .peers/ in the repository, git-ignored).
# tests/peers.py starts what a test module needs, once per pytest run, and stops it at the end.
# Adapted from the tested recipe the project started from; the accounts each one has are in
# the comment on its function.
set -euo pipefail
P=${P:-$(cd "$(dirname "$0")/.." && pwd)/.peers}
mkdir -p "$P/pids"
now() { date +%s.%N; }
waitfor() { # waitfor NAME TRIES CMD...
  local n=$1 t=$2; shift 2
  for _ in $(seq "$t"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$n: not ready" >&2; return 1; }
bg() { # bg NAME CMD...  (foreground daemon in background, record PID)
  local n=$1; shift; "$@" </dev/null >"$P/$n.out" 2>&1 & echo $! >"$P/pids/$n"; }
tcp() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

samba_up() { # Samba AD DC on 127.0.0.2 (389/636/3268/88/464/445/135...), realm EXAMPLE.TEST
  local S=$P/samba; rm -rf "$S"; mkdir -p "$S"
  samba-tool domain provision --use-rfc2307 --realm=EXAMPLE.TEST --domain=EXAMPLE --server-role=dc \
    --dns-backend=NONE --adminpass='Passw0rd!Adm' --host-name=dc1 --targetdir="$S" \
    --option="interfaces=127.0.0.2/8" --option="bind interfaces only=yes" </dev/null >"$S.provision.log" 2>&1
  mkdir -p "$S/run" "$S/cache" "$S/log"
  sed -i "/^\[global\]/a\\
	ldap server require strong auth = no\\
	log file = $S/log/log.%m\\
	pid directory = $S/run\\
	winbindd socket directory = $S/run/winbindd\\
	ncalrpc dir = $S/run/ncalrpc\\
	ntp signd socket directory = $S/run/ntp_signd\\
	load printers = no\\
	printcap name = /dev/null\\
	disable spoolss = yes" "$S/etc/smb.conf"
  sed -i '/^\[printers\]/,/^\[sysvol\]/{/^\[sysvol\]/!d}' "$S/etc/smb.conf"
  printf '[libdefaults]\n default_realm = EXAMPLE.TEST\n dns_lookup_realm = false\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.2:88\n  kpasswd_server = 127.0.0.2:464\n }\n[domain_realm]\n .example.test = EXAMPLE.TEST\n example.test = EXAMPLE.TEST\n' >"$S/krb5.conf"
  bg samba samba -s "$S/etc/smb.conf" -F --debug-stdout -d1
  waitfor samba 300 ldapsearch -H ldap://127.0.0.2 -x -s base -b "" dnsHostName
  local T="samba-tool"
  $T domain passwordsettings set --complexity=off --max-pwd-age=0 --min-pwd-age=0 --history-length=0 -s "$S/etc/smb.conf" </dev/null >/dev/null
  $T user create alice 'Alice#Pass1' -s "$S/etc/smb.conf" --given-name=Alice --surname=Liddell \
    --mail-address=alice@example.test --uid-number=10001 --gid-number=100 --login-shell=/bin/bash \
    --unix-home=/home/alice --nis-domain=example </dev/null >/dev/null
  KRB5_CONFIG=$S/krb5.conf KRB5CCNAME=FILE:$S/t.cc waitfor samba-kdc 50 sh -c "echo 'Alice#Pass1' | kinit alice@EXAMPLE.TEST"
  samba_directory_fixture "$S"
  samba_tern_service_account "$S"
}
samba_tern_service_account() { # tern-svc (random password nobody knows): Tern's service account. Keytabs in $S:
  # tern-svc.keytab: the client keytab (tern-svc@EXAMPLE.TEST) for the directory's GSSAPI bind; tern-wrong.keytab:
  # tern-svc with the same kvno and a key the DC never had; tern-mail.keytab: its SPNs imap/, pop/, smtp/, sieve/ on
  # mail.example.test and on localhost (what imtest & co. ask for when they connect to "localhost"), for [kerberos].
  local S=$1 T="samba-tool" sp
  $T user create tern-svc --random-password --description="Tern mail server" -s "$S/etc/smb.conf" </dev/null >/dev/null
  $T user setexpiry tern-svc --noexpiry -s "$S/etc/smb.conf" </dev/null >/dev/null
  local spns="imap/mail.example.test pop/mail.example.test smtp/mail.example.test sieve/mail.example.test imap/localhost pop/localhost smtp/localhost sieve/localhost"
  for sp in $spns; do $T spn add "$sp" tern-svc -s "$S/etc/smb.conf" </dev/null >/dev/null; done
  rm -f "$S/tern-svc.keytab" "$S/tern-mail.keytab" "$S/tern-wrong.keytab"
  $T domain exportkeytab "$S/tern-svc.keytab" --principal=tern-svc@EXAMPLE.TEST -s "$S/etc/smb.conf" </dev/null >/dev/null
  for sp in $spns; do $T domain exportkeytab "$S/tern-mail.keytab" --principal="$sp@EXAMPLE.TEST" -s "$S/etc/smb.conf" </dev/null >/dev/null; done
  local kv; kv=$(klist -k "$S/tern-svc.keytab" | awk '/tern-svc@/ {print $1; exit}')
  printf 'addent -password -p tern-svc@EXAMPLE.TEST -k %s -e aes256-cts-hmac-sha1-96\nNot#The#Key9\nwkt %s\n' "$kv" "$S/tern-wrong.keytab" | ktutil >/dev/null 2>&1
  KRB5_CONFIG=$S/krb5.conf KRB5CCNAME=MEMORY:check kinit -k -t "$S/tern-svc.keytab" tern-svc@EXAMPLE.TEST
}
samba_start() { # start an already provisioned Samba again (after 'peers.sh stop samba')
  local S=$P/samba; bg samba samba -s "$S/etc/smb.conf" -F --debug-stdout -d1
  waitfor samba 300 ldapsearch -H ldap://127.0.0.2 -x -s base -b "" dnsHostName
  waitfor samba-bind 100 ldapsearch -H ldap://127.0.0.2 -x -D 'CN=Administrator,CN=Users,DC=example,DC=test' -w 'Passw0rd!Adm' -s base -b '' dnsHostName
}
slapd_start() { local L=$P/slapd; bg slapd slapd -f "$L/slapd.conf" -h "ldap://127.0.0.1:10389/ ldaps://127.0.0.1:10636/" -d 0
  waitfor slapd 100 ldapsearch -H ldap://127.0.0.1:10389 -x -s base -b "" namingContexts; }
adpw() { printf '"%s"' "$1" | iconv -f utf-8 -t utf-16le | base64 -w0; }
samba_directory_fixture() { # the directory tests/test_directory_ad.py reads (all passwords NAME#Pass1, capitalized):
  # carl (UPN carl@corp.example.test, primary SMTP:carl.smith@example.test, quota "2GB" in `info`), dora (toggled
  # disabled by the tests), frank (in no group), hank (expired in 2000); groups: Staff {alice, dora, hank} inside
  # "Mail Users" {Staff, carl}; mail-enabled Team (team@example.test) {alice, Subteam}, Subteam {carl, Team} (a loop).
  # alice gets proxyAddresses SMTP:alice@example.test, smtp:alice.liddell@example.test, smtp:al@example.test, X400:...
  local D=CN=Users,DC=example,DC=test
  {
    for u in carl dora frank hank; do
      local U; U=$(echo "${u:0:1}" | tr a-z A-Z)${u:1}
      local upn=$u@example.test; [ $u = carl ] && upn=carl@corp.example.test
      printf 'dn: CN=%s,%s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s\nmail: %s@example.test\ndisplayName: %s Test\nunicodePwd:: %s\nuserAccountControl: 512\n\n' \
        "$u" "$D" "$u" "$upn" "$u" "$U" "$(adpw "$U#Pass1")"
    done
    printf 'dn: CN=carl,%s\nchangetype: modify\nreplace: proxyAddresses\nproxyAddresses: SMTP:carl.smith@example.test\nproxyAddresses: smtp:carl@example.test\nproxyAddresses: smtp:cs@example.test\n-\nreplace: info\ninfo: 2GB\n-\n\n' "$D"
    printf 'dn: CN=hank,%s\nchangetype: modify\nreplace: accountExpires\naccountExpires: 125911584000000000\n-\n\n' "$D"
    printf 'dn: CN=Alice Liddell,%s\nchangetype: modify\nreplace: proxyAddresses\nproxyAddresses: SMTP:alice@example.test\nproxyAddresses: smtp:alice.liddell@example.test\nproxyAddresses: smtp:al@example.test\nproxyAddresses: X400:c=US;a= ;p=Example;o=Test;s=Liddell;\n-\n\n' "$D"
    printf 'dn: CN=Staff,%s\nchangetype: add\nobjectClass: group\nsAMAccountName: Staff\nmember: CN=Alice Liddell,%s\nmember: CN=dora,%s\nmember: CN=hank,%s\n\n' "$D" "$D" "$D" "$D"
    printf 'dn: CN=Mail Users,%s\nchangetype: add\nobjectClass: group\nsAMAccountName: Mail Users\nmember: CN=Staff,%s\nmember: CN=carl,%s\n\n' "$D" "$D" "$D"
    printf 'dn: CN=Team,%s\nchangetype: add\nobjectClass: group\nsAMAccountName: Team\nmail: team@example.test\nproxyAddresses: SMTP:team@example.test\nmember: CN=Alice Liddell,%s\n\n' "$D" "$D"
    printf 'dn: CN=Subteam,%s\nchangetype: add\nobjectClass: group\nsAMAccountName: Subteam\nmember: CN=carl,%s\nmember: CN=Team,%s\n\n' "$D" "$D" "$D"
    printf 'dn: CN=Team,%s\nchangetype: modify\nadd: member\nmember: CN=Subteam,%s\n-\n\n' "$D" "$D"
  } >"$S.fixture.ldif"
  LDAPTLS_REQCERT=never ldapmodify -H ldaps://127.0.0.2 -x -D "CN=Administrator,$D" -w 'Passw0rd!Adm' -f "$S.fixture.ldif" >"$S.fixture.log" 2>&1 \
    || { cat "$S.fixture.log" >&2; return 1; }
}
slapd_up() { # OpenLDAP on 127.0.0.1:10389, suffix dc=example,dc=test, rootpw secret, user uid=bob pw Bob#Pass1
  local L=$P/slapd; rm -rf "$L"; mkdir -p "$L/db"
  cat >"$L/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $L/tern-test.schema
TLSCACertificateFile $L/ca.pem
TLSCertificateFile $L/server.pem
TLSCertificateKeyFile $L/server.key
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $L/slapd.pid
database mdb
maxsize 104857600
suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
rootpw secret
directory $L/db
sizelimit size.soft=100 size.hard=100 size.prtotal=unlimited
index objectClass,uid,mail eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
EOF
  slapd_tls_and_schema "$L"
  cat >"$L/base.ldif" <<EOF
dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: uid=bob,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
objectClass: posixAccount
objectClass: ternMailUser
uid: bob
mailAlternateAddress: robert@example.test
mailQuota: 3MB
cn: Bob
sn: Builder
mail: bob@example.test
uidNumber: 10002
gidNumber: 100
homeDirectory: /home/bob
userPassword: $(slappasswd -s 'Bob#Pass1')
EOF
  slapd_directory_fixture >>"$L/base.ldif"
  slapadd -f "$L/slapd.conf" -l "$L/base.ldif" >/dev/null 2>&1
  slapd_start
}
slapd_tls_and_schema() { # CA + server certificate for 127.0.0.1 (ldaps 10636, StartTLS on 10389); test schema
  local L=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Tern test CA" -keyout "$L/ca.key" -out "$L/ca.pem" \
    -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$L/server.key" -out "$L/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n' >"$L/ext.cnf"
  openssl x509 -req -in "$L/server.csr" -CA "$L/ca.pem" -CAkey "$L/ca.key" -CAcreateserial -days 30 \
    -extfile "$L/ext.cnf" -out "$L/server.pem" >/dev/null 2>&1
  cat >"$L/tern-test.schema" <<'EOF'
attributetype ( 2.16.840.1.113730.3.1.13 NAME 'mailAlternateAddress'
  EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )
attributetype ( 1.3.6.1.4.1.32473.1.1 NAME 'mailQuota'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.2 NAME 'ternMailUser' SUP top AUXILIARY MAY ( mailAlternateAddress $ mailQuota ) )
EOF
}
slapd_directory_fixture() { # for tests/test_directory_ldap.py: cleo / Cleo#Pass1 (in staff, nested in mailers),
  # dean / Dean#Pass1 (in no group), groups mailers {staff}, staff {bob, cleo}; mail-enabled list@example.test
  # {bob, sublist}, sublist {cleo, list} (a loop)
  local G=ou=groups,dc=example,dc=test U=ou=people,dc=example,dc=test
  printf '\ndn: %s\nobjectClass: organizationalUnit\nou: groups\n' "$G"
  for u in cleo:10003 dean:10004; do local n=${u%%:*} id=${u##*:} N; N=$(echo "${n:0:1}" | tr a-z A-Z)${n:1}
    printf '\ndn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: %s\nsn: Test\nmail: %s@example.test\nuidNumber: %s\ngidNumber: 100\nhomeDirectory: /home/%s\nuserPassword: %s\n' \
      "$n" "$U" "$n" "$N" "$n" "$id" "$n" "$(slappasswd -s "$N#Pass1")"; done
  printf '\ndn: cn=staff,%s\nobjectClass: groupOfNames\ncn: staff\nmember: uid=bob,%s\nmember: uid=cleo,%s\n' "$G" "$U" "$U"
  printf '\ndn: cn=mailers,%s\nobjectClass: groupOfNames\ncn: mailers\nmember: cn=staff,%s\n' "$G" "$G"
  printf '\ndn: cn=list,%s\nobjectClass: groupOfNames\nobjectClass: extensibleObject\ncn: list\nmail: list@example.test\nmember: uid=bob,%s\nmember: cn=sublist,%s\n' "$G" "$U" "$G"
  printf '\ndn: cn=sublist,%s\nobjectClass: groupOfNames\ncn: sublist\nmember: uid=cleo,%s\nmember: cn=list,%s\n' "$G" "$U" "$G"
}
mitkdc_up() { # MIT KDC realm MIT.TEST on 127.0.0.1:10088, principal carol / Carol#Pass1
  local K=$P/mitkdc; rm -rf "$K"; mkdir -p "$K"
  printf '[kdcdefaults]\n kdc_listen = 127.0.0.1:10088\n kdc_tcp_listen = 127.0.0.1:10088\n[realms]\n MIT.TEST = {\n  database_name = %s/principal\n  acl_file = %s/kadm5.acl\n  key_stash_file = %s/stash\n  kdc_listen = 127.0.0.1:10088\n  kdc_tcp_listen = 127.0.0.1:10088\n  kadmind_listen = 127.0.0.1:10749\n  kpasswd_listen = 127.0.0.1:10464\n }\n[logging]\n kdc = FILE:%s/kdc.log\n' "$K" "$K" "$K" "$K" >"$K/kdc.conf"
  printf '[libdefaults]\n default_realm = MIT.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n[realms]\n MIT.TEST = {\n  kdc = 127.0.0.1:10088\n  admin_server = 127.0.0.1:10749\n }\n' >"$K/krb5.conf"
  echo '*/admin@MIT.TEST *' >"$K/kadm5.acl"
  export KRB5_CONFIG=$K/krb5.conf KRB5_KDC_PROFILE=$K/kdc.conf
  kdb5_util -r MIT.TEST create -s -P 'MasterPw1' </dev/null >/dev/null 2>&1
  kadmin.local -r MIT.TEST -q "addprinc -pw Carol#Pass1 carol" </dev/null >/dev/null 2>&1
  kadmin.local -r MIT.TEST -q "addprinc -randkey imap/mail.mit.test" </dev/null >/dev/null 2>&1
  kadmin.local -r MIT.TEST -q "ktadd -k $K/imap.keytab imap/mail.mit.test" </dev/null >/dev/null 2>&1
  # Tern's keytab: imap/, smtp/, pop/, sieve/ for mail.mit.test (tern.keytab); wrong.keytab has
  # the imap/ principal with the same kvno but a key the KDC never had (the spoofed-KDC case).
  # imap/, pop/, smtp/, sieve/localhost: what a client on this machine asks for when it
  # connects to "localhost" (imtest, pop3test, smtptest, sivtest, sieve-connect), with
  # dns_canonicalize_hostname = false.
  local sp; for sp in smtp/mail.mit.test pop/mail.mit.test sieve/mail.mit.test imap/localhost pop/localhost smtp/localhost sieve/localhost; do kadmin.local -r MIT.TEST -q "addprinc -randkey $sp" </dev/null >/dev/null 2>&1; done
  cp "$K/imap.keytab" "$K/tern.keytab"
  kadmin.local -r MIT.TEST -q "ktadd -k $K/tern.keytab smtp/mail.mit.test pop/mail.mit.test sieve/mail.mit.test imap/localhost pop/localhost smtp/localhost sieve/localhost" </dev/null >/dev/null 2>&1
  local kv; kv=$(klist -k "$K/imap.keytab" | awk '/imap\/mail.mit.test/ {print $1; exit}')
  printf 'addent -password -p imap/mail.mit.test@MIT.TEST -k %s -e aes256-cts-hmac-sha1-96\nNot#The#Key9\nwkt %s\n' "$kv" "$K/wrong.keytab" | ktutil >/dev/null 2>&1
  bg mitkdc krb5kdc -n -r MIT.TEST -P "$K/krb5kdc.pid"
  KRB5CCNAME=FILE:$K/t.cc waitfor mitkdc 50 sh -c "echo 'Carol#Pass1' | kinit carol@MIT.TEST"
  unset KRB5_CONFIG KRB5_KDC_PROFILE
}
dovecot_up() { # Dovecot IMAP 10143, POP3 10110, LMTP 10024; users dave@example.test / Dave#Pass1,
  # frank@example.test / Frank#Pass1, gina@example.test / Gina#Pass1, hank@example.test / Hank#Pass1,
  # ivy, jack, kim @example.test / Ivy#Pass1, Jack#Pass1, Kim#Pass1 (cutover tests); master user migrator / Master#Pass1
  # (LOGIN user*migrator, or SASL PLAIN authzid=user authcid=migrator); "Sent Items" is \Sent, "Trash" \Trash
  local D=$P/dovecot; rm -rf "$D"; mkdir -p "$D/run" "$D/state" "$D/mail"; chmod 755 "$P" "$D"; chown nobody:nogroup "$D/mail"
  cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_master_user_separator = *
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
namespace inbox {
  inbox = yes
  mailbox "Sent Items" {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
}
passdb {
  driver = passwd-file
  master = yes
  args = scheme=PLAIN $D/masters
  pass = yes
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/mail/%u
}
service imap-login {
  inet_listener imap {
    port = 10143
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 10110
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    port = 10024
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
EOF
  printf 'dave@example.test:{PLAIN}Dave#Pass1\nfrank@example.test:{PLAIN}Frank#Pass1\ngina@example.test:{PLAIN}Gina#Pass1\nhank@example.test:{PLAIN}Hank#Pass1\nivy@example.test:{PLAIN}Ivy#Pass1\njack@example.test:{PLAIN}Jack#Pass1\nkim@example.test:{PLAIN}Kim#Pass1\n' >"$D/users"; chmod 644 "$D/users"
  printf 'migrator:{PLAIN}Master#Pass1\n' >"$D/masters"; chmod 644 "$D/masters"
  bg dovecot dovecot -c "$D/dovecot.conf" -F
  waitfor dovecot 100 tcp 127.0.0.1 10143
}
cyrus_up() { # Cyrus IMAP 11143, POP3 11110, LMTP 11024; admin cyrus/Cyrus#Adm1 (also a proxy admin: SASL PLAIN
  # authzid=USER authcid=cyrus), users erin/Erin#Pass1 (mailbox user/erin), ivan/Ivan#Pass1 (user/ivan),
  # lena/Lena#Pass1 (user/lena, the cutover tests)
  local C=$P/cyrus IMAPD=/usr/lib/cyrus/bin/imapd
  if [ ! -x $IMAPD ]; then  # cyrus-imapd conflicts with dovecot-imapd: use the unpacked .deb
    IMAPD=$P/cyrus-root/usr/lib/cyrus/bin/imapd
    if [ ! -x "$IMAPD" ]; then (cd "$P" && apt-get download -q cyrus-imapd >/dev/null 2>&1 && dpkg-deb -x cyrus-imapd_*.deb "$P/cyrus-root"); fi
  fi
  local POP3D=${IMAPD%/imapd}/pop3d  # cyrus-pop3d conflicts with dovecot-pop3d too
  if [ ! -x "$POP3D" ]; then
    POP3D=$P/cyrus-root/usr/lib/cyrus/bin/pop3d
    if [ ! -x "$POP3D" ]; then (cd "$P" && apt-get download -q cyrus-pop3d >/dev/null 2>&1 && dpkg-deb -x cyrus-pop3d_*.deb "$P/cyrus-root"); fi
  fi
  rm -rf "$C"; mkdir -p "$C"/{conf,spool,sieve,run/socket,run/proc,run/lock}
  cat >"$C/imapd.conf" <<EOF
configdirectory: $C/conf
proc_path: $C/run/proc
mboxname_lockpath: $C/run/lock
defaultpartition: default
partition-default: $C/spool
sievedir: $C/sieve
unixhierarchysep: yes
lmtp_downcase_rcpt: yes
allowplaintext: yes
admins: cyrus
proxyservers: cyrus
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $C/conf/sasldb2
sasl_mech_list: PLAIN LOGIN
lmtpsocket: $C/run/socket/lmtp
idlesocket: $C/run/socket/idle
notifysocket: $C/run/socket/notify
EOF
  cat >"$C/cyrus.conf" <<EOF
START {
  recover cmd="ctl_cyrusdb -C $C/imapd.conf -r"
}
SERVICES {
  imap cmd="$IMAPD -C $C/imapd.conf" listen="127.0.0.1:11143" prefork=1 maxchild=50
  pop3 cmd="$POP3D -C $C/imapd.conf" listen="127.0.0.1:11110" prefork=0 maxchild=20
  lmtp cmd="lmtpd -C $C/imapd.conf -a" listen="127.0.0.1:11024" prefork=0 maxchild=20
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -C $C/imapd.conf -c" period=30
}
EOF
  echo 'Cyrus#Adm1' | saslpasswd2 -p -c -f "$C/conf/sasldb2" cyrus
  echo 'Erin#Pass1' | saslpasswd2 -p -c -f "$C/conf/sasldb2" erin
  echo 'Ivan#Pass1' | saslpasswd2 -p -c -f "$C/conf/sasldb2" ivan
  echo 'Lena#Pass1' | saslpasswd2 -p -c -f "$C/conf/sasldb2" lena
  chown -R cyrus:mail "$C"; chmod 750 "$C/conf"
  bg cyrus /usr/lib/cyrus/bin/master -C "$C/imapd.conf" -M "$C/cyrus.conf" -p "$C/run/master.pid" -D
  waitfor cyrus 100 tcp 127.0.0.1 11143
  python3 -c "import imaplib; a=imaplib.IMAP4('127.0.0.1',11143); a.login('cyrus','Cyrus#Adm1'); a.create('user/erin'); a.create('user/ivan'); a.create('user/lena'); a.logout()"
}
sink_up() { bg sink smtp-sink -u nobody 127.0.0.1:12525 100; waitfor sink 50 tcp 127.0.0.1 12525; }
rspamd_up() { # rspamd normal 21333, controller 21334 (password q1), proxy 21332; DNS pinned to dead loopback port
  local R=$P/rspamd; mkdir -p "$R/local/local.d" "$R/local/override.d" "$R/db" "$R/run" "$R/log"  # keep db/ (hyperscan cache)
  printf 'bind_socket = "127.0.0.1:21333";\ncount = 1;\n' >"$R/local/override.d/worker-normal.inc"
  printf 'bind_socket = "127.0.0.1:21334";\ncount = 1;\n' >"$R/local/override.d/worker-controller.inc"
  printf 'bind_socket = "127.0.0.1:21332";\ncount = 1;\n' >"$R/local/override.d/worker-proxy.inc"
  printf 'dns {\n  nameserver = ["127.0.0.1:15353"];\n  timeout = 0.2s;\n  retransmits = 1;\n}\ndisable_monitoring = true;\n' >"$R/local/local.d/options.inc"
  printf 'type = "file";\nfilename = "%s/log/rspamd.log";\nlevel = "info";\n' "$R" >"$R/local/local.d/logging.inc"
  chown -R _rspamd:_rspamd "$R/db" "$R/run" "$R/log"; chmod 755 "$R"
  bg rspamd rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf --var=LOCAL_CONFDIR="$R/local" \
     --var=DBDIR="$R/db" --var=RUNDIR="$R/run" --var=LOGDIR="$R/log"
  waitfor rspamd 600 curl -sf http://127.0.0.1:21333/ping
}
clamd_up() { # clamd on 127.0.0.1:13310 with a local signature DB (EICAR + clamav-testfiles clam.exe)
  local CL=$P/clamav; rm -rf "$CL"; mkdir -p "$CL/db"
  printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$CL/eicar.com"
  for f in "$CL/eicar.com" /usr/share/clamav-testfiles/clam.exe; do
    echo "$(md5sum <"$f" | cut -d' ' -f1):$(stat -c %s "$f"):Test.$(basename "$f" | tr . _).Local"; done >"$CL/db/local.hdb"
  printf 'Foreground yes\nDatabaseDirectory %s/db\nTCPSocket 13310\nTCPAddr 127.0.0.1\nLogFile %s/clamd.log\n' "$CL" "$CL" >"$CL/clamd.conf"
  bg clamd clamd -c "$CL/clamd.conf"
  waitfor clamd 100 tcp 127.0.0.1 13310
}
clamav_milter_up() { # Debian's clamav-milter on 127.0.0.1:13320 (inet), scanning with the clamd peer (start clamd first)
  local M=$P/clamav-milter; rm -rf "$M"; mkdir -p "$M/tmp"
  printf 'MilterSocket inet:13320@127.0.0.1\nClamdSocket tcp:127.0.0.1:13310\nForeground yes\nPidFile %s/pid\nOnClean Accept\nOnInfected Reject\nOnFail Defer\nAddHeader Replace\nLogFile %s/clamav-milter.log\nLogVerbose yes\nLogInfected Full\nLogClean Full\nTemporaryDirectory %s/tmp\nMaxFileSize 25M\n' "$M" "$M" "$M" >"$M/clamav-milter.conf"
  bg clamav_milter clamav-milter -c "$M/clamav-milter.conf"
  waitfor clamav-milter 100 tcp 127.0.0.1 13320
}
pg_up() { # PostgreSQL 15 on 127.0.0.1:15432, trust auth, db 'mail'
  local G=$P/pg B=/usr/lib/postgresql/15/bin; rm -rf "$G"; mkdir -p "$G"; chown postgres:postgres "$G"
  setpriv --reuid=postgres --regid=postgres --init-groups $B/initdb -D "$G/data" -A trust -U postgres -E UTF8 --no-locale --no-sync >"$G/initdb.log" 2>&1
  bg pg setpriv --reuid=postgres --regid=postgres --init-groups $B/postgres -D "$G/data" -p 15432 \
     -c listen_addresses=127.0.0.1 -k "$G" -c fsync=off -c synchronous_commit=off -c full_page_writes=off
  waitfor pg 100 $B/pg_isready -q -h 127.0.0.1 -p 15432
  psql -h 127.0.0.1 -p 15432 -U postgres -qc "create database mail"
}
down() {
  for f in "$P"/pids/*; do [ -e "$f" ] || continue; pid=$(cat "$f")
    case $(basename "$f") in pg) kill -INT "$pid" 2>/dev/null || true;; *) kill -TERM "$pid" 2>/dev/null || true;; esac; done
  for f in "$P"/pids/*; do [ -e "$f" ] || continue; pid=$(cat "$f")
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "$(basename "$f") still up, KILL"; kill -KILL "$pid"; }
    rm -f "$f"; done
}
packages() {
  echo samba samba-ad-provision samba-ad-dc krb5-user ldb-tools smbclient winbind ldap-utils \
    slapd krb5-kdc krb5-admin-server dovecot-imapd dovecot-pop3d dovecot-lmtpd \
    postfix swaks isync fetchmail getmail6 rspamd redis-server clamav-daemon clamav-testfiles \
    postgresql bc curl cyrus-common cyrus-admin cyrus-clients sasl2-bin \
    dnsmasq-base clamav-milter sieve-connect libkrb5-dev libclang-dev pkg-config \
    libsasl2-modules-gssapi-mit libgssapi-perl python3-dkim python3-authres python3-nacl python3-dnspython \
    unbound nsd ldnsutils
}
stop() { # stop NAME: stop one service this script started (tests restart it with 'start NAME')
  local f=$P/pids/$1; [ -e "$f" ] || return 0; local pid; pid=$(cat "$f"); kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"; rm -f "$f"; }
cmd=${1:-up}; shift || true
case $cmd in
  packages) packages;;
  up) for s in ${@:-samba slapd mitkdc dovecot cyrus sink rspamd clamd pg}; do t=$(now); ${s}_up; printf '%-8s up in %5.1fs\n' "$s" "$(echo "$(now)-$t" | bc)"; done;;
  stop) for s in "$@"; do stop "$s"; done;;
  start) for s in "$@"; do ${s}_start; done;;
  down) t=$(now); down; printf 'all down in %.1fs\n' "$(echo "$(now)-$t" | bc)";;
esac
