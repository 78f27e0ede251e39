package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/api/client"
	"github.com/nomad-iis/nomad-iis/internal/task"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// The client and the API spell capabilities, issuer, audience and the
// secret's length the same way.
func TestNamesMatchTheAPI(t *testing.T) {
	t.Parallel()
	must.EqOp(t, api.JWTIssuer, client.JWTIssuer)
	must.EqOp(t, api.JWTAudience, client.JWTAudience)
	must.EqOp(t, api.MinJWTSecretBytes, client.MinJWTSecretBytes)
	want := []string{}
	for _, c := range []api.Capability{api.CapStatus, api.CapFilesystemAccess, api.CapFilesystemRead, api.CapFilesystemWrite,
		api.CapAppPoolLifecycle, api.CapScreenshots, api.CapProcDump, api.CapDebug} {
		want = append(want, string(c))
	}
	must.SliceContainsAll(t, want, client.Capabilities)
}

const secret = "0123456789abcdef0123456789abcdef-test"

// realAPI serves the Management API over one task whose directory it returns.
func realAPI(t *testing.T) (srv *httptest.Server, tk client.Task, taskDir string) {
	t.Helper()
	taskDir = t.TempDir()
	must.NoError(t, os.Mkdir(filepath.Join(taskDir, "local"), 0o755))
	info := task.Info{TaskID: "a1/web", AllocID: "a1b2c3d4-0000-0000-0000-000000000001", TaskName: "web",
		Namespace: "default", JobID: "shop", JobName: "shop", TaskDir: taskDir, Running: true}
	s, err := api.New(api.Config{Port: 1, APIKeys: []string{"key-1"}, JWTSecret: []byte(secret)},
		testkit.NewRegistry(info), testkit.DownIIS{}, nil)
	must.NoError(t, err)
	srv = httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, client.Task{AllocID: info.AllocID, TaskName: "web"}, taskDir
}

func TestAgainstTheAPI(t *testing.T) {
	t.Parallel()
	srv, tk, taskDir := realAPI(t)
	ctx := context.Background()
	site := t.TempDir()
	must.NoError(t, os.MkdirAll(filepath.Join(site, "css"), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(site, "index.html"), []byte("<h1>new</h1>"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(site, "css", "site.css"), []byte(strings.Repeat("a{}", 5000)), 0o644))

	mint := func(caps ...string) string {
		tok, err := client.MintToken([]byte(secret), client.TokenClaims{Subject: "ci", Namespaces: []string{"default"},
			JobNames: []string{"shop"}, AllocIDs: []string{"*"}, Capabilities: caps, TTL: time.Minute})
		must.NoError(t, err)
		return tok
	}
	newClient := func(token string) *client.Client {
		c, err := client.New(client.Config{BaseURL: srv.URL, Token: token, MaxRetries: -1})
		must.NoError(t, err)
		return c
	}

	// A token limited to Status is refused an upload with the API's 403.
	_, err := newClient(mint("Status")).Upload(ctx, tk, "local", client.DirSource{Dir: site}, client.UploadOptions{Hot: true})
	must.True(t, client.IsStatus(err, http.StatusForbidden), must.Sprint(err))
	must.StrContains(t, err.Error(), "FilesystemWrite")

	// A write token deploys the folder, zipped on the fly.
	res, err := newClient(mint("FilesystemWrite")).Upload(ctx, tk, "local", client.DirSource{Dir: site}, client.UploadOptions{Hot: true, Clean: true})
	must.NoError(t, err)
	must.EqOp(t, 2, res.Files)
	got, err := os.ReadFile(filepath.Join(taskDir, "local", "index.html"))
	must.NoError(t, err)
	must.EqOp(t, "<h1>new</h1>", string(got))

	// A read token lists and downloads it.
	reader := newClient(mint("FilesystemRead"))
	ls, err := reader.List(ctx, tk, "local")
	must.NoError(t, err)
	must.EqOp(t, "directory", ls.Type)
	must.Len(t, 2, ls.Entries)
	var sb strings.Builder
	d, err := reader.DownloadFile(ctx, tk, "local/index.html", &sb, nil)
	must.NoError(t, err)
	must.EqOp(t, "index.html", d.Name)
	must.EqOp(t, "<h1>new</h1>", sb.String())

	// A token of another job sees no task: 404.
	other, err := client.MintToken([]byte(secret), client.TokenClaims{Namespaces: []string{"default"},
		JobNames: []string{"other"}, AllocIDs: []string{"*"}, Capabilities: []string{"*"}, TTL: time.Minute})
	must.NoError(t, err)
	_, err = newClient(other).List(ctx, tk, "local")
	must.True(t, client.IsStatus(err, http.StatusNotFound), must.Sprint(err))

	// An API key deletes.
	c, err := client.New(client.Config{BaseURL: srv.URL, APIKey: "key-1"})
	must.NoError(t, err)
	del, err := c.Delete(ctx, tk, "local/css")
	must.NoError(t, err)
	must.EqOp(t, "local/css", del.Path)
	_, err = os.Stat(filepath.Join(taskDir, "local", "css"))
	must.True(t, os.IsNotExist(err))
}

func TestMintTokenRefusals(t *testing.T) {
	t.Parallel()
	ok := client.TokenClaims{Namespaces: []string{"default"}, JobNames: []string{"shop"}, AllocIDs: []string{"*"},
		Capabilities: []string{"Status"}, TTL: time.Hour}
	_, err := client.MintToken([]byte("short"), ok)
	must.ErrorContains(t, err, "secret: 5 bytes; the API accepts secrets of at least 32 bytes")
	bad := ok
	bad.Capabilities = []string{"Status", "Deploy"}
	bad.JobNames = nil
	bad.TTL = 0
	_, err = client.MintToken([]byte(secret), bad)
	must.ErrorContains(t, err, `capabilities: "Deploy" is not one of Status, FilesystemAccess`)
	must.ErrorContains(t, err, "job: empty")
	must.ErrorContains(t, err, "ttl: 0s is not positive")
}
