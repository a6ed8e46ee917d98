# net-operator: sign user certificates for the net-operator principal, nothing else.
path "ssh/sign/net-operator" {
  capabilities = ["update"]
}
