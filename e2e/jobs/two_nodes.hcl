# Two allocations of one site, one per node, for the nomad-iis command's
# suite (a cluster of two clients).
job "e2e-cli" {
  datacenters = ["dc1"]

  group "app" {
    count = 2

    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "http" {}
    }

    task "app" {
      driver = "iis"

      template {
        destination = "local/index.html"
        data        = "<html><body>version 1</body></html>\n"
      }

      config {
        application {
          path = "local"
        }

        binding {
          type = "http"
          port = "http"
        }
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
