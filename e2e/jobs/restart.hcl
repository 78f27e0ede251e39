# A site with a restart policy: when its pool is stopped from outside Nomad,
# the task exits and Nomad restarts it.
job "e2e-restart" {
  datacenters = ["dc1"]

  group "app" {
    restart {
      attempts = 3
      interval = "5m"
      delay    = "1s"
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    network {
      port "http" {}
    }

    task "app" {
      driver = "iis"

      template {
        destination = "local/index.html"
        data        = "<html><body><h1>e2e-restart</h1></body></html>\n"
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
        memory = 32
      }
    }
  }
}
