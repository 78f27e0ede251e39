package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
)

// benchmarkStatus measures GET …/status over loopback HTTP with 64
// concurrent keep-alive clients; the pool state comes from the cache.
func benchmarkStatus(b *testing.B, auth func(*http.Request)) {
	e := newEnv(b)
	e.srv.log = e.srv.log.ResetNamed("bench") // keep the trace log out of the measurement
	e.srv.log.SetLevel(hclog.Off)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + taskURL("/status")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			auth(req)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkStatus_APIKey(b *testing.B) {
	benchmarkStatus(b, func(r *http.Request) { r.Header.Set("X-Api-Key", testKey) })
}

func BenchmarkStatus_JWT(b *testing.B) {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": JWTIssuer, "aud": JWTAudience, "exp": 4102444800,
		"namespace": "default", "jobName": "*", "allocId": "*", "capabilities": []string{"Status"},
	}).SignedString([]byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStatus(b, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
}
