package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type statsOptions struct {
	all      bool
	noStream bool
	noTrunc  bool
	format   string
}

func (c *cli) newStatsCommand() *cobra.Command {
	var o statsOptions
	cmd := &cobra.Command{
		Use:                   "stats [OPTIONS] [CONTAINER...]",
		Short:                 "Display a live stream of container(s) resource usage statistics",
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runStats(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&o.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

// statsCollector keeps the latest row of each container, fed by one
// Stats stream per container.
type statsCollector struct {
	mu    sync.Mutex
	refs  []string
	rows  map[string]statsRow
	errs  map[string]error
	trunc bool
}

func (c *cli) runStats(ctx context.Context, o statsOptions, args []string) error {
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	refs := args
	if len(refs) == 0 {
		resp, err := a.Containers.List(ctx, &agentv1.ListContainersRequest{All: o.all})
		if err != nil {
			return fromAgent(err)
		}
		for _, ct := range resp.Containers {
			refs = append(refs, ct.Id)
		}
	}
	col := &statsCollector{refs: refs, rows: map[string]statsRow{}, errs: map[string]error{}, trunc: !o.noTrunc}
	f := o.format
	if f == "" || f == formatTable {
		f = statsTableFormat
	}
	lf := listFormat{Format: f, Header: statsHeader}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			col.collect(sctx, a, ref, !o.noStream)
		}()
	}
	if o.noStream {
		wg.Wait()
		if err := col.firstError(args); err != nil {
			return err
		}
		return lf.Write(c.out, col.snapshot())
	}
	return c.drawStats(sctx, lf, col, args)
}

// drawStats redraws the table every second (in place on a terminal)
// until interrupted or a named container goes away.
func (c *cli) drawStats(ctx context.Context, lf listFormat, col *statsCollector, named []string) error {
	_, tty := terminalFd(c.out)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := col.firstError(named); err != nil {
			return err
		}
		var buf bytes.Buffer
		if tty {
			buf.WriteString("\x1b[2J\x1b[H")
		}
		if err := lf.Write(&buf, col.snapshot()); err != nil {
			return err
		}
		if _, err := buf.WriteTo(c.out); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *statsCollector) collect(ctx context.Context, a *agentConn, ref string, stream bool) {
	st, err := a.Containers.Stats(ctx, &agentv1.StatsRequest{Id: ref, Stream: stream})
	if err != nil {
		s.fail(ref, containerError(ref, err))
		return
	}
	var prev cpuSample
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return
		}
		if err != nil {
			s.fail(ref, containerError(ref, err))
			return
		}
		var v container.StatsResponse
		if err := json.Unmarshal(m.Json, &v); err != nil {
			log.G(ctx).WithError(err).Debug("bad stats document")
			continue
		}
		row := newStatsRow(ref, &v, prev, s.trunc)
		prev = cpuSample{total: v.CPUStats.CPUUsage.TotalUsage, system: v.CPUStats.SystemUsage}
		s.mu.Lock()
		s.rows[ref] = row
		s.mu.Unlock()
	}
}

func (s *statsCollector) fail(ref string, err error) {
	s.mu.Lock()
	s.errs[ref] = err
	s.mu.Unlock()
}

// firstError is the error of a container the user named; containers found
// by listing that went away are just dropped, as docker does.
func (s *statsCollector) firstError(named []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range named {
		if err := s.errs[ref]; err != nil {
			return err
		}
	}
	return nil
}

func (s *statsCollector) snapshot() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make([]any, 0, len(s.refs))
	for _, ref := range s.refs {
		if _, failed := s.errs[ref]; failed {
			continue
		}
		row, ok := s.rows[ref]
		if !ok {
			row = emptyStatsRow(ref, s.trunc)
		}
		rows = append(rows, row)
	}
	return rows
}
