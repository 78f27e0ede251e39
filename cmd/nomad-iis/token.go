package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// envJWTSecret is the plugin's own variable for the JWT secret, read here
// too so that one secret store serves both.
const envJWTSecret = "NOMAD_IIS_MANAGEMENT_API_JWT_SECRET"

func (a *app) tokenCommand() *cobra.Command {
	var secretFile, subject string
	var jobs, allocs, caps, namespaces []string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a scoped JWT for the Management API from its secret",
		Long: `token prints a JWT (HS256, iss NomadIIS, aud ManagementApi) for the Management API,
signed with the secret the plugin has (--management-api-jwt-secret): from
--secret-file or ` + envJWTSecret + `. The scope is what the flags say, and
nothing more: --namespace (default: the current namespace), --job (required;
* for every job), --alloc (default *) and --capability (required, repeatable:
` + strings.Join(client.Capabilities, ", ") + `, or *).
The secret is never printed. The token goes to stdout alone, for
export NOMAD_IIS_TOKEN=$(nomad-iis token ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret, err := a.jwtSecret(secretFile)
			if err != nil {
				return err
			}
			if len(namespaces) == 0 {
				namespaces = []string{a.namespace()}
			}
			if a.g.job != "" {
				jobs = append(jobs, a.g.job)
			}
			if a.g.alloc != "" {
				allocs = append(allocs, a.g.alloc)
			}
			if len(allocs) == 0 {
				allocs = []string{"*"}
			}
			claims := client.TokenClaims{Subject: subject, Namespaces: namespaces, JobNames: jobs,
				AllocIDs: allocs, Capabilities: caps, TTL: ttl}
			if err := claims.Validate(); err != nil {
				return usagef("token: %s", oneLine(err.Error()))
			}
			tok, err := client.MintToken(secret, claims)
			if err != nil {
				return usagef("token: %s", err)
			}
			fmt.Fprintln(a.env.stdout, tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&secretFile, "secret-file", "", "file holding the JWT secret (default: "+envJWTSecret+")")
	f.StringVar(&subject, "subject", "", "sub claim, written to the API's audit log (such as the pipeline's name)")
	f.StringSliceVar(&namespaces, "namespaces", nil, "namespaces the token reaches, beside --namespace (comma-separated or repeated)")
	f.StringSliceVar(&jobs, "jobs", nil, "job names the token reaches, beside --job")
	f.StringSliceVar(&allocs, "allocs", nil, "allocation IDs the token reaches, beside --alloc (default *)")
	f.StringSliceVar(&caps, "capability", nil, "capabilities granted: "+strings.Join(client.Capabilities, ", ")+" or *")
	f.DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	return cmd
}

// jwtSecret reads the secret from a file (its content without a trailing
// newline) or the environment.
func (a *app) jwtSecret(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usagef("--secret-file: %v", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if s := a.env.getenv(envJWTSecret); s != "" {
		return []byte(s), nil
	}
	return nil, usagef("token: no secret; give --secret-file or set %s", envJWTSecret)
}
