# net-viewer: sign user certificates for the net-viewer principal, nothing else.
path "ssh/sign/net-viewer" {
  capabilities = ["update"]
}
