package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
)

// nomadConfig is the Nomad API client configuration of the nomad CLI's
// environment (NOMAD_ADDR, NOMAD_TOKEN, NOMAD_NAMESPACE, NOMAD_REGION,
// NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_SKIP_VERIFY,
// NOMAD_TLS_SERVER_NAME), with --namespace and --region over it. It is read
// through getenv rather than os.Getenv so that tests own their environment.
func (a *app) nomadConfig() (*nomad.Config, error) {
	get := a.env.getenv
	cfg := &nomad.Config{
		Address:   cmp.Or(get("NOMAD_ADDR"), "http://127.0.0.1:4646"),
		Region:    cmp.Or(a.g.region, get("NOMAD_REGION")),
		Namespace: a.namespace(),
		SecretID:  get("NOMAD_TOKEN"),
		TLSConfig: &nomad.TLSConfig{
			CACert:        get("NOMAD_CACERT"),
			ClientCert:    get("NOMAD_CLIENT_CERT"),
			ClientKey:     get("NOMAD_CLIENT_KEY"),
			TLSServerName: get("NOMAD_TLS_SERVER_NAME"),
		},
	}
	if v := get("NOMAD_SKIP_VERIFY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usagef("NOMAD_SKIP_VERIFY: %q is not true or false", v)
		}
		cfg.TLSConfig.Insecure = b
	}
	return cfg, nil
}

// namespace is --namespace, else NOMAD_NAMESPACE, else default.
func (a *app) namespace() string {
	return cmp.Or(a.g.namespace, a.env.getenv("NOMAD_NAMESPACE"), "default")
}

// nomadClient connects to the Nomad API.
func (a *app) nomadClient() (*nomad.Client, error) {
	cfg, err := a.nomadConfig()
	if err != nil {
		return nil, err
	}
	c, err := nomad.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("nomad API at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// isNomadNotFound reports whether the Nomad API answered 404.
func isNomadNotFound(err error) bool {
	var ue nomad.UnexpectedResponseError
	if errors.As(err, &ue) {
		return ue.StatusCode() == http.StatusNotFound
	}
	return false
}

// nomadError words an error of the Nomad API on one line.
func nomadError(what string, err error) error {
	var ue nomad.UnexpectedResponseError
	if errors.As(err, &ue) && ue.HasStatusCode() {
		body := strings.TrimSpace(ue.Body())
		if ue.StatusCode() == http.StatusForbidden {
			return fmt.Errorf("%s: the Nomad API refused the request (403 %s): check NOMAD_TOKEN and its policy", what, body)
		}
		return fmt.Errorf("%s: the Nomad API answered %d %s", what, ue.StatusCode(), body)
	}
	return fmt.Errorf("%s: %w", what, err)
}
