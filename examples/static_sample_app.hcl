# The static sample app: one HTML page served by IIS through nomad-iis.
#
#   nomad job run examples/static_sample_app.hcl
#
# The page ships inside the job (the template block below writes it to the
# task's local/ directory before the site starts), so the job runs without
# downloading anything, on a Windows node with IIS as on a Linux machine with
# iissim. To serve your own content instead, replace the template block with an
# artifact block, as in:
#
#   artifact {
#     source      = "https://example.com/my-site.zip"
#     destination = "local"
#   }
#
# or upload it later through the Management API (PUT .../fs/local).
job "static-sample-app" {
  datacenters = ["dc1"]
  type        = "service"

  group "app" {
    count = 1

    # Keep the allocation through a short client or plugin restart
    # (an in-place update of nomad_iis, say).
    # disconnect {
    #   lost_after = "1m"
    # }

    network {
      port "httplabel" {}
    }

    task "app" {
      driver = "iis"

      template {
        destination = "local/index.html"
        data        = <<-HTML
          <!DOCTYPE html>
          <html lang="en">
          <head>
            <meta charset="utf-8">
            <title>Static Sample App</title>
            <style>
              body { font-family: system-ui, sans-serif; margin: 4rem auto; max-width: 40rem; color: #1f2937; }
              h1 { color: #00ca8e; }
              code { background: #f3f4f6; padding: 0.1rem 0.3rem; border-radius: 0.2rem; }
            </style>
          </head>
          <body>
            <h1>Static Sample App</h1>
            <p>This page is served by an IIS website that Nomad runs with the <code>iis</code> task driver.</p>
            <p>Job <code>static-sample-app</code>, group <code>app</code>, task <code>app</code>.</p>
          </body>
          </html>
        HTML
      }

      config {
        application {
          path = "local"
        }

        binding {
          type = "http"
          port = "httplabel"
        }
      }

      resources {
        cpu    = 100
        memory = 20
      }
    }
  }
}
