# Devices sign their own host key at start, for their own name only (allowed_domains).
path "ssh-host/sign/device-host" {
  capabilities = ["update"]
}
