# A Nomad agent configuration that loads nomad-iis on a Windows node with IIS.
#
#   nomad agent -dev -config examples/agent.hcl -plugin-dir <directory holding nomad_iis.exe>
#
# The plugin runs as the Nomad client's account, which must be an
# Administrator to manage IIS. `make run` starts an agent with an equivalent
# configuration on Linux, where the plugin drives iissim instead of IIS.

plugin "nomad_iis" {
  # The Management API (optional). Without a key or a JWT secret it only
  # listens on the loopback interface. Replace the key with a long random
  # one, or leave it out here and set NOMAD_IIS_MANAGEMENT_API_KEY in the
  # environment of the Nomad service instead (command lines are visible to
  # every local user).
  args = [
    "--management-api-port=5004",
    "--management-api-key=change-me",
  ]

  config {
    enabled              = true
    fingerprint_interval = "30s"

    # Sites that jobs may add applications to (target_website); "*" allows any.
    # allowed_target_websites = ["Default Web Site"]

    # Identities a pool may run as.
    # allowed_apppool_identities = ["ApplicationPoolIdentity", "NetworkService"]

    # Files copied into an application's directory when it is empty.
    # placeholder_app_path = "C:\\inetpub\\wwwroot"
  }
}
