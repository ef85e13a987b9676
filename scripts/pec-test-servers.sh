#!/usr/bin/env bash
# Starts a local Postfix (SMTP submission) and Dovecot (IMAPS, SASL, LMTP) on
# 127.0.0.1 for the ponte-pec integration tests. Installs the Debian packages
# if missing, makes its own TLS certificates, and writes the connection
# details to an env file the tests read. Running it again keeps the
# certificates and passwords, rewrites the configuration, empties the
# mailboxes and restarts the servers. Needs root. No systemd: the daemons are started
# directly.
#
#   scripts/pec-test-servers.sh          install, configure, start
#   scripts/pec-test-servers.sh stop     stop both servers
#
# Environment:
#   PONTE_PEC_STATE   state folder (certificates, mail, logs, env file);
#                     default /tmp/ponte-pec
#   PONTE_PEC_ENV     where to write the env file; default $PONTE_PEC_STATE/env
#
# This is plain SMTP/IMAP: no PEC receipts are generated here (a PEC provider
# does that). The tests inject provider-style receipts themselves.
set -euo pipefail

state=${PONTE_PEC_STATE:-/tmp/ponte-pec}
env_file=${PONTE_PEC_ENV:-$state/env}
domain=pec.ponte.test
host_name=mail.$domain
addr=127.0.0.1
port_submission=10587   # STARTTLS + AUTH
port_smtps=10465        # implicit TLS + AUTH
port_untrusted=10588    # STARTTLS with a certificate from a CA the tests do not trust
port_imaps=10993        # IMAP over implicit TLS
vmail_user=ponte-vmail

if [ "$(id -u)" -ne 0 ]; then
  echo "pec-test-servers.sh: must run as root (it installs packages and starts mail servers)" >&2
  exit 1
fi

dovecot_conf=$state/dovecot/dovecot.conf

dovecot_running() {
  [ -f "$state/run/dovecot/master.pid" ] &&
    kill -0 "$(cat "$state/run/dovecot/master.pid")" 2>/dev/null
}
postfix_running() {
  command -v postfix >/dev/null 2>&1 && postfix status >/dev/null 2>&1
}

# Stops both servers and waits until they are gone (both stop asynchronously).
stop_servers() {
  if postfix_running; then
    postfix stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dovecot_conf" ] && dovecot_running; then
    doveadm -c "$dovecot_conf" stop >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 100); do
    if ! postfix_running && ! dovecot_running; then return 0; fi
    sleep 0.1
  done
  echo "pec-test-servers.sh: the servers did not stop within 10 s" >&2
  return 1
}

if [ "${1:-start}" = stop ]; then
  stop_servers
  echo "pec test servers stopped" >&2
  exit 0
fi

# --- 1. Debian packages ------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
pkgs=(postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string $host_name" | debconf-set-selections
  apt-get update -qq
  # policy-rc.d: keep the packages' maintainer scripts from starting daemons.
  prc=/usr/sbin/policy-rc.d
  had_prc=0
  [ -e "$prc" ] && had_prc=1
  if [ $had_prc -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$prc"
    chmod 755 "$prc"
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ $had_prc -eq 0 ]; then rm -f "$prc"; fi
fi

id "$vmail_user" >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$vmail_user"
vmail_uid=$(id -u "$vmail_user")
vmail_gid=$(id -g "$vmail_user")

install -d -m 0755 "$state" "$state/tls" "$state/dovecot" "$state/log" "$state/run"
install -d -m 0700 -o "$vmail_user" -g "$vmail_user" "$state/mail"

# --- 2. TLS: a test CA, a server certificate, and an untrusted pair -------------
make_ca() { # name
  local n=$1
  [ -s "$state/tls/$n.pem" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=Ponte test/CN=Ponte PEC test $n" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$state/tls/$n.key" -out "$state/tls/$n.pem" 2>/dev/null
  chmod 600 "$state/tls/$n.key"
}
make_leaf() { # ca name
  local ca=$1 n=$2
  [ -s "$state/tls/$n.pem" ] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=Ponte test/CN=$host_name" \
    -keyout "$state/tls/$n.key" -out "$state/tls/$n.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:$host_name,DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" >"$state/tls/$n.ext"
  openssl x509 -req -in "$state/tls/$n.csr" -CA "$state/tls/$ca.pem" -CAkey "$state/tls/$ca.key" \
    -CAcreateserial -days 825 -extfile "$state/tls/$n.ext" -out "$state/tls/$n.pem" 2>/dev/null
  chmod 600 "$state/tls/$n.key"
  rm -f "$state/tls/$n.csr" "$state/tls/$n.ext"
}
make_ca ca
make_leaf ca server
make_ca untrusted-ca
make_leaf untrusted-ca untrusted

# The PEC provider's S/MIME signing certificate (RSA, as the providers'), under
# its own CA: tests/interop/pec_sim.py signs every receipt and envelope with
# it, and Ponte's [pec.imap] provider_ca_file trusts that CA. The key is a
# throwaway test key, readable by the (possibly unprivileged) test user.
make_signer() { # ca name
  local ca=$1 n=$2
  [ -s "$state/tls/$n.pem" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "/C=IT/O=Ponte test PEC S.p.A./CN=Ponte test PEC firma ricevute" \
    -keyout "$state/tls/$n.key" -out "$state/tls/$n.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,nonRepudiation" \
    "extendedKeyUsage=emailProtection" >"$state/tls/$n.ext"
  openssl x509 -req -in "$state/tls/$n.csr" -CA "$state/tls/$ca.pem" -CAkey "$state/tls/$ca.key" \
    -CAcreateserial -days 825 -extfile "$state/tls/$n.ext" -out "$state/tls/$n.pem" 2>/dev/null
  chmod 644 "$state/tls/$n.key"
  rm -f "$state/tls/$n.csr" "$state/tls/$n.ext"
}
make_ca provider-ca
make_signer provider-ca provider-signer

# --- 3. Users: passwords kept across runs ---------------------------------------
old_value() { # KEY
  [ -f "$env_file" ] && sed -n "s/^$1=//p" "$env_file" | tail -n 1
  return 0
}
pw() { # KEY
  local v
  v=$(old_value "$1")
  [ -n "$v" ] || v=$(openssl rand -hex 12)
  printf '%s' "$v"
}
office_pw=$(pw PONTE_PEC_OFFICE_PASSWORD)
court_pw=$(pw PONTE_PEC_COURT_PASSWORD)
provider_pw=$(pw PONTE_PEC_PROVIDER_PASSWORD)

users_tmp=$(mktemp "$state/dovecot/users.XXXXXX")
for pair in "ufficio:$office_pw" "tribunale:$court_pw" "posta-certificata:$provider_pw"; do
  printf '%s@%s:%s\n' "${pair%%:*}" "$domain" "{SHA512-CRYPT}$(openssl passwd -6 "${pair#*:}")" >>"$users_tmp"
done
chmod 640 "$users_tmp"
chgrp dovecot "$users_tmp"
mv -f "$users_tmp" "$state/dovecot/users"

# --- 4. Dovecot -------------------------------------------------------------------
cat >"$dovecot_conf" <<EOF
# Written by scripts/pec-test-servers.sh (Dovecot 2.3). Test use only.
protocols = imap lmtp
listen = $addr
base_dir = $state/run/dovecot
state_dir = $state/dovecot/state
instance_name = ponte-pec
log_path = $state/log/dovecot.log
info_log_path = $state/log/dovecot.log
ssl = required
ssl_cert = <$state/tls/server.pem
ssl_key = <$state/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = $vmail_uid
last_valid_uid = $vmail_uid
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u $state/dovecot/users
}
userdb {
  driver = static
  args = uid=$vmail_uid gid=$vmail_gid home=$state/mail/%d/%n
}
mail_location = maildir:~/Maildir
mail_privileged_group =
namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = $addr
    port = $port_imaps
    ssl = yes
  }
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@$domain
}
protocol imap {
  mail_max_userip_connections = 50
}
EOF
install -d -m 0750 "$state/dovecot/state"

# --- 5. Postfix ---------------------------------------------------------------------
install -d -m 0755 /etc/postfix
echo "$host_name" >/etc/mailname
cat >/etc/postfix/main.cf <<EOF
# Written by scripts/pec-test-servers.sh. Test use only: loopback, one local
# domain delivered to Dovecot by LMTP, submission with Dovecot SASL.
compatibility_level = 3.6
myhostname = $host_name
mydomain = $domain
myorigin = \$mydomain
mydestination =
inet_interfaces = $addr
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
virtual_mailbox_domains = $domain
virtual_transport = lmtp:unix:private/dovecot-lmtp
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
message_size_limit = 104857600
maillog_file_prefixes = /var, /dev/stdout, $state
maillog_file = $state/log/postfix.log
smtpd_banner = \$myhostname ESMTP
smtpd_tls_chain_files = $state/tls/server.key, $state/tls/server.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtp_tls_security_level = none
EOF
submission_opts="
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
cat >/etc/postfix/master.cf <<EOF
# Written by scripts/pec-test-servers.sh. No chroot (container friendly).
$addr:$port_submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt$submission_opts
$addr:$port_smtps inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes$submission_opts
$addr:$port_untrusted inet n - n - - smtpd
  -o syslog_name=postfix/untrusted
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_chain_files=$state/tls/untrusted.key,$state/tls/untrusted.pem$submission_opts
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
local      unix  - n n -    - local
virtual    unix  - n n -    - virtual
lmtp       unix  - - n -    - lmtp
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
postfix set-permissions >/dev/null 2>&1 || true
postfix check

# --- 6. Empty mailboxes, then start ---------------------------------------------------
# Every run of the tests starts with empty mailboxes and an empty queue: mail
# left by an earlier run would pile up in the boxes the tests poll (a box with
# thousands of old messages made one test miss its receipts in the first page
# of a fetch).
stop_servers
postsuper -d ALL >/dev/null 2>&1 || true
rm -rf "${state:?}/mail/$domain"
dovecot -c "$dovecot_conf" </dev/null >/dev/null 2>&1
postfix start </dev/null >/dev/null 2>&1

wait_port() { # port
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$addr/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "pec-test-servers.sh: nothing listens on $addr:$1; see $state/log/" >&2
  return 1
}
for p in $port_submission $port_smtps $port_untrusted $port_imaps; do wait_port "$p"; done

# --- 7. The env file -----------------------------------------------------------------
env_tmp=$(mktemp "$env_file.XXXXXX")
cat >"$env_tmp" <<EOF
# Written by scripts/pec-test-servers.sh; read by adapters/pec/tests.
PONTE_PEC_HOST=$addr
PONTE_PEC_TLS_NAME=$host_name
PONTE_PEC_DOMAIN=$domain
PONTE_PEC_SUBMISSION_PORT=$port_submission
PONTE_PEC_SMTPS_PORT=$port_smtps
PONTE_PEC_UNTRUSTED_PORT=$port_untrusted
PONTE_PEC_IMAPS_PORT=$port_imaps
PONTE_PEC_CA=$state/tls/ca.pem
PONTE_PEC_UNTRUSTED_CA=$state/tls/untrusted-ca.pem
PONTE_PEC_OFFICE_USER=ufficio@$domain
PONTE_PEC_OFFICE_PASSWORD=$office_pw
PONTE_PEC_COURT_USER=tribunale@$domain
PONTE_PEC_COURT_PASSWORD=$court_pw
PONTE_PEC_PROVIDER_USER=posta-certificata@$domain
PONTE_PEC_PROVIDER_PASSWORD=$provider_pw
PONTE_PEC_PROVIDER_SIGNING_CA=$state/tls/provider-ca.pem
PONTE_PEC_PROVIDER_SIGNING_CERT=$state/tls/provider-signer.pem
PONTE_PEC_PROVIDER_SIGNING_KEY=$state/tls/provider-signer.key
EOF
chmod 644 "$env_tmp"
mv -f "$env_tmp" "$env_file"

echo "pec test servers running on $addr (submission $port_submission STARTTLS, smtps $port_smtps, untrusted-cert $port_untrusted, imaps $port_imaps)" >&2
echo "connection details: $env_file (logs: $state/log/)" >&2
echo "$env_file"
