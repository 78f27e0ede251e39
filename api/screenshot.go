package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// handleScreenshot serves GET …/screenshot[?path=/]: a full-page PNG of the
// task's site, through its first http binding, taken by the warm browser.
func (s *Server) handleScreenshot(w http.ResponseWriter, r *http.Request, c *call) error {
	target, err := screenshotTarget(c.task, r.URL.Query().Get("path"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ScreenshotTimeout)
	defer cancel()
	png, err := s.shots.screenshot(ctx, target)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(png)))
	h.Set("Content-Disposition", attachment(fmt.Sprintf("screenshot_%s_%s_%s.png", c.task.AllocID, c.task.TaskName, time.Now().Format("2006-01-02-15-04-05"))))
	h.Set("Cache-Control", "no-store")
	setDownloadSafety(h)
	_, err = w.Write(png)
	return err
}

// screenshotTarget builds the URL of path on the task's first http binding:
// its host name when it has one (the browser resolves every name to
// loopback), else loopback or the binding's own address.
func screenshotTarget(t Task, path string) (shotTarget, error) {
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(path)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return shotTarget{}, apiErr(http.StatusBadRequest, "path=%q must be a path on the task's site, such as /index.html", path)
	}
	for _, b := range t.Bindings {
		if !strings.EqualFold(b.Protocol, "http") {
			continue
		}
		host := "127.0.0.1"
		switch {
		case b.Hostname != "" && b.Hostname != "*":
			host = b.Hostname
		case b.IPAddress != "" && b.IPAddress != "*" && b.IPAddress != "0.0.0.0" && b.IPAddress != "::":
			host = b.IPAddress
		}
		origin := "http://" + net.JoinHostPort(host, strconv.Itoa(b.Port))
		target := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(b.Port)), Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
		return shotTarget{URL: target.String(), Origin: origin}, nil
	}
	return shotTarget{}, apiErr(http.StatusNotFound, "the task has no http binding to take a screenshot of")
}
