//go:build tools

// Package tools pins the Nomad agent that the end-to-end suites and `make run`
// start. It is a module of its own so that the agent's dependencies stay out of
// the plugin's go.mod.
package tools

import _ "github.com/hashicorp/nomad"
