//go:build tools

package tmpdeps

import (
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/gorilla/mux"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/hashicorp/nomad/plugins"
	_ "github.com/hashicorp/nomad/plugins/drivers"
	_ "github.com/hashicorp/nomad/plugins/drivers/testutils"
	_ "github.com/hashicorp/nomad/plugins/shared/hclspec"
	_ "github.com/hashicorp/nomad/drivers/shared/eventer"
	_ "github.com/hashicorp/nomad/api"
	_ "github.com/klauspost/compress/flate"
	_ "github.com/onsi/ginkgo/v2"
	_ "github.com/onsi/gomega"
	_ "github.com/playwright-community/playwright-go"
	_ "github.com/shirou/gopsutil/v4/process"
	_ "github.com/shoenig/test/must"
	_ "golang.org/x/sys/windows"
)
