# Three applications on three pools, one with a virtual directory, as in
# nomad-iis's multi-pool documentation.
job "e2e-multipool" {
  datacenters = ["dc1"]

  group "app" {
    network {
      port "http" {}
    }

    task "app" {
      driver = "iis"

      template {
        destination = "local/root/index.html"
        data        = "<html><body>root application</body></html>\n"
      }
      template {
        destination = "local/root/pid.aspx"
        data        = "<%@ Page Language=\"C#\" %><%= System.Diagnostics.Process.GetCurrentProcess().Id %>"
      }
      template {
        destination = "local/a/index.html"
        data        = "<html><body>application a</body></html>\n"
      }
      template {
        destination = "local/a/pid.aspx"
        data        = "<%@ Page Language=\"C#\" %><%= System.Diagnostics.Process.GetCurrentProcess().Id %>"
      }
      template {
        destination = "local/b/index.html"
        data        = "<html><body>application b</body></html>\n"
      }
      template {
        destination = "local/b/pid.aspx"
        data        = "<%@ Page Language=\"C#\" %><%= System.Diagnostics.Process.GetCurrentProcess().Id %>"
      }
      template {
        destination = "local/shared/note.txt"
        data        = "shared through a virtual directory\n"
      }

      config {
        application_pool {
          name = "pool-a"
        }
        application_pool {
          name = "pool-b"
        }

        application {
          path = "local/root"
        }
        application {
          alias            = "app-a"
          path             = "local/a"
          application_pool = "pool-a"
        }
        application {
          alias            = "app-b"
          path             = "local/b"
          application_pool = "pool-b"

          virtual_directory {
            alias = "shared"
            path  = "local/shared"
          }
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
