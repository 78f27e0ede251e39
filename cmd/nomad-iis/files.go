package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nomad-iis/nomad-iis/api/client"
)

func (a *app) downloadCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download PATH",
		Short: "Download a file, or a folder as a ZIP, from every allocation",
		Long: `download writes the file at PATH of the task directory, or the folder at PATH as a ZIP,
to -o (default: the name the API gives it, in the current folder). With several
allocations the allocation's short ID is added before the extension. -o - writes to
stdout (one allocation only). A file is written under a temporary name and renamed
once complete, so an interrupted download leaves no partial file behind.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			targets, err := a.saveTargets(ctx, out)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				fallback := path.Base(strings.Trim(args[0], "/"))
				return a.save(t, out, fallback, len(targets) > 1, "download", func(w io.Writer, p client.Progress) (*client.Download, error) {
					return c.DownloadFile(ctx, t.clientTask(), args[0], w, p)
				})
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (- for stdout)")
	return cmd
}

// save writes a download to out (or the API's file name, else fallback):
// to a temporary file renamed once complete, or to stdout for "-".
func (a *app) save(t *target, out, fallback string, many bool, verb string,
	get func(io.Writer, client.Progress) (*client.Download, error)) (string, error) {
	rep := a.newReporter(t, verb, many || out == "-")
	if out == "-" {
		d, err := get(a.env.stdout, nil)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("wrote %s to stdout", humanBytes(d.Size)), nil
	}
	dir := "."
	if out != "" {
		dir = filepath.Dir(out)
	}
	tmp, err := os.CreateTemp(dir, ".nomad-iis-download-*")
	if err != nil {
		return "", fmt.Errorf("create a file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	d, err := get(tmp, rep.progress())
	rep.finish(err == nil)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", tmp.Name(), cerr)
	}
	if err != nil {
		return "", err
	}
	name := out
	if name == "" {
		name = filepath.Base(d.Name) // never a path the server chose
		if d.Name == "" || name == "." || name == "/" || name == ".." {
			name = fallback
			if strings.Contains(d.ContentType, "zip") && !strings.EqualFold(filepath.Ext(name), ".zip") {
				name += ".zip"
			}
		}
	}
	if many {
		ext := filepath.Ext(name)
		name = strings.TrimSuffix(name, ext) + "_" + t.short() + ext
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", fmt.Errorf("save %s: %w", name, err)
	}
	return fmt.Sprintf("wrote %s (%s)", name, humanBytes(d.Size)), nil
}

func (a *app) listCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [PATH]",
		Short: "List a folder of the task directory (default: the task directory) on every allocation",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := ""
			if len(args) == 1 {
				p = args[0]
			}
			ctx := cmd.Context()
			targets, err := a.targets(ctx)
			if err != nil {
				return err
			}
			errs := a.fanOut(ctx, targets, func(ctx context.Context, _ int, t *target, c *client.Client) error {
				fi, err := c.List(ctx, t.clientTask(), p)
				if err != nil {
					return err
				}
				return a.printListing(t, fi, asJSON)
			})
			return a.summarise(targets, errs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON, one line per allocation")
	return cmd
}

// saveTargets are the allocations a command that saves to -o out acts on;
// -o - (stdout) takes one allocation only.
func (a *app) saveTargets(ctx context.Context, out string) ([]*target, error) {
	targets, err := a.targets(ctx)
	if err != nil {
		return nil, err
	}
	if out == "-" && len(targets) > 1 {
		return nil, usagef("-o -: %d allocations match; stdout takes one (use --alloc)", len(targets))
	}
	return targets, nil
}

// printListing prints one line per entry, prefixed by the allocation, in
// one block.
func (a *app) printListing(t *target, fi *client.FileInfo, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(struct {
			*target
			Listing *client.FileInfo `json:"listing"`
		}{t, fi})
		if err != nil {
			return fmt.Errorf("encode the listing: %w", err)
		}
		a.printOut("%s", b)
		return nil
	}
	entries := fi.Entries
	if fi.Type != "directory" {
		entries = []client.FileInfo{*fi}
	}
	var sb strings.Builder
	for _, e := range entries {
		name := e.Path
		if e.Type == "directory" {
			name += "/"
		}
		fmt.Fprintf(&sb, "%s: %-9s %10s  %s  %s\n", t.label(), e.Type, humanBytes(e.Size), e.Modified.UTC().Format("2006-01-02 15:04:05Z"), name)
	}
	if fi.Truncated {
		fmt.Fprintf(&sb, "%s: (truncated at %d entries)\n", t.label(), len(entries))
	}
	a.printOut("%s", strings.TrimSuffix(sb.String(), "\n"))
	return nil
}

func (a *app) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete PATH",
		Short: "Delete a file or folder of the task directory on every allocation (PATH/* empties a folder)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			targets, err := a.targets(ctx)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				res, err := c.Delete(ctx, t.clientTask(), args[0])
				if err != nil {
					return "", err
				}
				if res.Emptied {
					return fmt.Sprintf("emptied %s (%d entries)", res.Path, res.Entries), nil
				}
				return "deleted " + res.Path, nil
			})
		},
	}
}
