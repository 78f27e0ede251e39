# A task configuration the driver must refuse: an application pool name
# longer than the 8 characters nomad-iis allows.
job "e2e-bad-config" {
  datacenters = ["dc1"]

  group "app" {
    restart {
      attempts = 0
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

      config {
        application_pool {
          name = "muchtoolongpoolname"
        }

        application {
          path             = "local"
          application_pool = "muchtoolongpoolname"
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
