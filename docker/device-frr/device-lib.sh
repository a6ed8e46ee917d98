# Shared by the FRR and VyOS device images (sourced, not run): CA trust, host certificate, validator
# configuration. Every step fails the start of the device rather than run without it (fail closed).

say() { echo "netward-device[${NETWARD_DEVICE:-?}]: $*" >&2; }

# retry N CMD...: the CA and TACACS+ may still be starting when a device boots.
retry() {
  local n=$1; shift
  local i
  for ((i = 1; i <= n; i++)); do
    if "$@"; then return 0; fi
    sleep 1
  done
  return 1
}

# The user CA devices trust: OpenBao's SSH engine publishes its public key without authentication.
fetch_user_ca() {
  local tmp
  tmp=$(mktemp)
  retry 60 curl -fsS "${NETWARD_BAO_ADDR}/v1/ssh/public_key" -o "$tmp" || { say "cannot fetch the user CA"; return 1; }
  grep -q '^ssh-' "$tmp" || { say "the user CA is not an OpenSSH public key"; return 1; }
  install -m 0644 "$tmp" /etc/ssh/netward/user_ca.pub
  rm -f "$tmp"
  say "trusting user CA $(ssh-keygen -lf /etc/ssh/netward/user_ca.pub | cut -d' ' -f2)"
}

# One principals file per account: `restrict <role>@<device>`, so a certificate the broker bound to
# another device is refused here, and `restrict` turns off forwarding, agent, X11, pty and ~/.ssh/rc
# whatever the certificate's extensions say.
write_principals() {
  local a
  for a in net-viewer net-operator net-admin; do
    printf 'restrict %s@%s\n' "$a" "$NETWARD_DEVICE" > "/etc/ssh/netward/principals/$a.tmp"
    chmod 0644 "/etc/ssh/netward/principals/$a.tmp"
    mv "/etc/ssh/netward/principals/$a.tmp" "/etc/ssh/netward/principals/$a"
  done
  say "principals bound to ${NETWARD_DEVICE}"
}

# A fresh host key signed by the host CA (ssh-host mount), so the MCP server verifies this device
# without trust on first use. The signing token is limited to ssh-host/sign/device-host.
sign_host_key() {
  local token principals body reply
  token=$(cat /bootstrap/device-host-signer.token) || { say "no host signing token"; return 1; }
  [ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
  # The inventory names devices by name (Docker's DNS), and the host role allows exactly those names.
  principals="${NETWARD_DEVICE}"
  body=$(node -e 'process.stdout.write(JSON.stringify({public_key: process.argv[1], cert_type: "host", valid_principals: process.argv[2]}))' \
    "$(cat /etc/ssh/ssh_host_ed25519_key.pub)" "$principals")
  reply=$(curl -fsS -H "X-Vault-Token: ${token}" -H 'Content-Type: application/json' \
    -X POST --data "$body" "${NETWARD_BAO_ADDR}/v1/ssh-host/sign/device-host") || { say "host key signing refused"; return 1; }
  node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(r.data.signed_key.trim() + "\n")' "$reply" \
    > /etc/ssh/ssh_host_ed25519_key-cert.pub
  say "host certificate for ${principals}"
}

# The validator's configuration (rendered per device, docker/device-frr/validator/), the command
# grammars and the TACACS+ key. The validator refuses a file an account could have written: all are
# copied to root-owned files here. The key is root's alone (0600): the authorization agent reads it,
# the accounts never can, and it is in no argv or environment.
write_validator_config() {
  local key=${NETWARD_TACACS_KEY:?NETWARD_TACACS_KEY must be set}
  if [[ ! $key =~ ^[A-Za-z0-9._+-]{8,64}$ ]]; then
    say "NETWARD_TACACS_KEY must be 8-64 characters of [A-Za-z0-9._+-]"
    return 1
  fi
  install -o root -g root -m 0644 /etc/netward/rendered/forcecommand.json /etc/netward/forcecommand.json
  install -o root -g root -m 0644 /etc/netward/rendered/grammar.json /etc/netward/grammar.json
  (umask 077 && printf '%s\n' "$key" > /etc/netward/tacacs.key)
  chown root:root /etc/netward/tacacs.key
  chmod 0600 /etc/netward/tacacs.key
  # The validator appends its audit records here (a record it cannot write is a deny).
  install -d -o root -g netward -m 0770 /var/log/netward
  touch /var/log/netward/forcecommand.log
  chown root:netward /var/log/netward/forcecommand.log
  chmod 0660 /var/log/netward/forcecommand.log
  /usr/local/bin/netward-forcecommand check-config >&2 \
    || { say "the validator refuses its configuration"; return 1; }
}

# The device's authorization agent (root): holds the TACACS+ key and one warm session, and answers
# each account's validator on that account's own socket under /run/netward/agent. Started before sshd;
# if it is not running, every command is denied (ERR_FC_AUTHZ_UNAVAILABLE), never run unchecked.
start_authorization_agent() {
  install -d -o root -g root -m 0755 /run/netward/agent
  /usr/local/bin/netward-forcecommand agent >>/var/log/netward-agent.log 2>&1 &
  say "authorization agent started (pid $!)"
}

# sshd in the foreground, its log to the container log (Promtail) and as RFC 5424 over UDP to
# syslog-ng (the device path of the audit trail).
# Extra arguments go to sshd (the VyOS device passes its own -f config).
exec_sshd() {
  install -d -m 0755 /run/sshd
  /usr/sbin/sshd -t "$@"
  say "sshd starting"
  exec /usr/sbin/sshd -D -e "$@" 2> >(tee /dev/stderr | logger --rfc5424 -n "${NETWARD_SYSLOG_HOST}" -P "${NETWARD_SYSLOG_PORT}" -d -t sshd -p auth.info)
}
