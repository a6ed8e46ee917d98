# OpenBao's audit device for the compose lab, declared in the server's configuration: OpenBao 2.x
# refuses to enable audit devices over the API ("cannot enable audit device via API; use declarative,
# config-based audit device management instead", seen on OpenBao 2.7.2). Dev mode loads this file too
# (`-config=` beside `-dev`). Every request and response, HMAC'd as usual, to the container log, which
# Promtail ships to Loki.
audit "file" "stdout" {
  options {
    file_path = "stdout"
  }
}
