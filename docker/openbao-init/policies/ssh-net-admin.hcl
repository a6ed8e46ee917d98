# net-admin: sign user certificates for the net-admin principal, nothing else.
path "ssh/sign/net-admin" {
  capabilities = ["update"]
}
