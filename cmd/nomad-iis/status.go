package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// allocStatus is one allocation's line of `status --json`.
type allocStatus struct {
	*target
	Status *client.Status `json:"status"`
}

func (a *app) statusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Pools, their state, worker processes, memory and CPU of every allocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			targets, err := a.targets(ctx)
			if err != nil {
				return err
			}
			results := make([]*client.Status, len(targets))
			errs := a.fanOut(ctx, targets, func(ctx context.Context, i int, t *target, c *client.Client) error {
				st, err := c.Status(ctx, t.clientTask())
				results[i] = st
				return err
			})
			var rows []allocStatus
			for i, t := range targets {
				if results[i] != nil {
					rows = append(rows, allocStatus{target: t, Status: results[i]})
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.env.stdout)
				enc.SetIndent("", "  ")
				if rows == nil {
					rows = []allocStatus{}
				}
				if err := enc.Encode(rows); err != nil {
					return fmt.Errorf("write the status: %w", err)
				}
			} else if len(rows) > 0 {
				if err := a.statusTable(rows); err != nil {
					return err
				}
				if err := a.deploymentsTable(rows); err != nil {
					return err
				}
			}
			return a.summarise(targets, errs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (one object per allocation) instead of a table")
	return cmd
}

// statusTable prints one row per worker process (or per pool without one).
func (a *app) statusTable(rows []allocStatus) error {
	tbl := tablewriter.NewTable(a.env.stdout,
		tablewriter.WithHeader([]string{"Alloc", "Node", "Task", "Pool", "Status", "PID", "Memory", "CPU %", "Started"}))
	for _, r := range rows {
		for _, p := range r.Status.ApplicationPools {
			if len(p.WorkerProcesses) == 0 {
				if err := tbl.Append([]string{r.short(), r.NodeName, r.Task, p.Name, p.Status, "-", "-", "-", "-"}); err != nil {
					return fmt.Errorf("status table: %w", err)
				}
				continue
			}
			for _, w := range p.WorkerProcesses {
				mem, cpu := "-", "-"
				if w.MemoryBytes != nil {
					mem = humanBytes(int64(*w.MemoryBytes))
				}
				if w.CPUPercent != nil {
					cpu = strconv.FormatFloat(*w.CPUPercent, 'f', 1, 64)
				}
				started := "-"
				if !w.StartTime.IsZero() {
					started = w.StartTime.UTC().Format("2006-01-02 15:04:05Z")
				}
				if err := tbl.Append([]string{r.short(), r.NodeName, r.Task, p.Name, p.Status, strconv.Itoa(w.ProcessID), mem, cpu, started}); err != nil {
					return fmt.Errorf("status table: %w", err)
				}
			}
		}
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("status table: %w", err)
	}
	return nil
}

// deploymentsTable prints, below the pools, one row per application
// directory deployed with deploy --zero-downtime: the version it serves and
// the ones kept for a rollback. Nothing when no allocation has one.
func (a *app) deploymentsTable(rows []allocStatus) error {
	var cells [][]string
	for _, r := range rows {
		for _, d := range r.Status.Deployments {
			kept := make([]string, len(d.Kept))
			for i, k := range d.Kept {
				kept[i] = k.ID
			}
			deployed := "-"
			if !d.Current.CreatedAt.IsZero() {
				deployed = d.Current.CreatedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			cells = append(cells, []string{r.short(), r.NodeName, r.Task, path.Join(d.Application, d.VirtualDirectory),
				d.Current.ID, deployed, humanBytes(d.Current.Bytes), strings.Join(kept, " ")})
		}
	}
	if len(cells) == 0 {
		return nil
	}
	fmt.Fprintln(a.env.stdout)
	tbl := tablewriter.NewTable(a.env.stdout,
		tablewriter.WithHeader([]string{"Alloc", "Node", "Task", "Application", "Version", "Deployed", "Size", "Kept"}))
	if err := tbl.Bulk(cells); err != nil {
		return fmt.Errorf("deployments table: %w", err)
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("deployments table: %w", err)
	}
	return nil
}

// humanBytes is n in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}

// countFiles is "1 file" or "n files".
func countFiles(n int) string {
	if n == 1 {
		return "1 file"
	}
	return strconv.Itoa(n) + " files"
}
