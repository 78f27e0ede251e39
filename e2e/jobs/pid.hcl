# One site whose page shows the worker's PID and an environment variable.
# pid.aspx runs unchanged on IIS with ASP.NET and on iissim.
job "e2e-pid" {
  datacenters = ["dc1"]

  group "app" {
    network {
      port "http" {}
    }

    task "app" {
      driver = "iis"

      env {
        MY_VARIABLE = "hello from nomad"
      }

      template {
        destination = "local/index.html"
        data        = "<html><body><h1>e2e-pid</h1></body></html>\n"
      }

      template {
        destination = "local/pid.aspx"
        data        = <<-ASPX
          <%@ Page Language="C#" %>
          pid=<%= System.Diagnostics.Process.GetCurrentProcess().Id %>
        ASPX
      }

      template {
        destination = "local/env.aspx"
        data        = <<-ASPX
          <%@ Page Language="C#" %>
          MY_VARIABLE=<%= Environment.GetEnvironmentVariable("MY_VARIABLE") %>
          NOMAD_ALLOC_ID=<%= Environment.GetEnvironmentVariable("NOMAD_ALLOC_ID") %>
          NOMAD_TASK_NAME=<%= Environment.GetEnvironmentVariable("NOMAD_TASK_NAME") %>
        ASPX
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
