package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

type logsOptions struct {
	follow     bool
	since      string
	until      string
	timestamps bool
	details    bool
	tail       string
}

func (c *cli) newLogsCommand() *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:                   "logs [OPTIONS] CONTAINER",
		Short:                 "Fetch the logs of a container",
		Args:                  requiresExactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runLogs(cmd.Context(), o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "Follow log output")
	f.StringVar(&o.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.StringVar(&o.until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.BoolVarP(&o.timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&o.details, "details", false, "Show extra details provided to logs")
	f.StringVarP(&o.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

func (c *cli) runLogs(ctx context.Context, o logsOptions, ref string) error {
	now := time.Now()
	req := &agentv1.LogsRequest{Follow: o.follow, Stdout: true, Stderr: true, Timestamps: o.timestamps, Tail: o.tail}
	if o.since != "" {
		t, err := parseLogTime(o.since, now)
		if err != nil {
			return fmt.Errorf("invalid value for \"since\": %w", err)
		}
		req.Since = timestamppb.New(t)
	}
	if o.until != "" {
		t, err := parseLogTime(o.until, now)
		if err != nil {
			return fmt.Errorf("invalid value for \"until\": %w", err)
		}
		req.Until = timestamppb.New(t)
	}
	if o.tail != "all" {
		if n, err := strconv.Atoi(o.tail); err != nil || n < 0 {
			// docker treats a bad --tail as "all"
			req.Tail = "all"
		}
	}
	a, err := c.agent(ctx)
	if err != nil {
		return err
	}
	info, err := c.inspectContainer(ctx, a, ref)
	if err != nil {
		return err
	}
	req.Id = info.ID
	conn, sid, err := a.openStream(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	req.StreamId = sid
	callErr := make(chan error, 1)
	go func() {
		_, err := a.Containers.Logs(ctx, req)
		if err != nil {
			conn.Close() // nothing will come: end the copy below
		}
		callErr <- err
	}()
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(c.out, conn)
	} else {
		_, err = stdcopy.StdCopy(c.out, c.errOut, conn)
	}
	if cerr := <-callErr; cerr != nil {
		return containerError(ref, cerr)
	}
	if err != nil && ctx.Err() == nil && !isClosedErr(err) {
		return err
	}
	return nil
}

func isClosedErr(err error) bool {
	return err != nil && (errors.Is(err, io.ErrClosedPipe) || strings.Contains(err.Error(), "use of closed network connection"))
}

// Layouts docker accepts for --since and --until.
const (
	layoutRFC3339Local     = "2006-01-02T15:04:05"
	layoutRFC3339NanoLocal = "2006-01-02T15:04:05.999999999"
	layoutDateLocal        = "2006-01-02"
	layoutDateWithZone     = "2006-01-02Z07:00"
)

// parseLogTime reads a --since/--until value with docker's rules: a Go
// duration ("10m", before now), an RFC 3339 date or timestamp (in local time
// when it has no zone), or unix seconds with optional nanoseconds.
func parseLogTime(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); value != "0" && err == nil {
		return now.Add(-d), nil
	}
	inLocation := !strings.ContainsAny(value, "zZ+") && strings.Count(value, "-") != 3
	var layout string
	switch {
	case strings.Contains(value, "."):
		layout = time.RFC3339Nano
		if inLocation {
			layout = layoutRFC3339NanoLocal
		}
	case strings.Contains(value, "T"):
		colons := strings.Count(value, ":")
		if !inLocation && !strings.ContainsAny(value, "zZ") && colons > 0 {
			colons-- // the zone offset's colon
		}
		layouts := [][3]string{{"2006-01-02T15", "2006-01-02T15:04", layoutRFC3339Local}, {"2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00", time.RFC3339}}
		set := layouts[0]
		if !inLocation {
			set = layouts[1]
		}
		layout = set[min(colons, 2)]
	case inLocation:
		layout = layoutDateLocal
	default:
		layout = layoutDateWithZone
	}
	var t time.Time
	var err error
	if inLocation {
		t, err = time.ParseInLocation(layout, value, now.Location())
	} else {
		t, err = time.Parse(layout, value)
	}
	if err == nil {
		return t, nil
	}
	if strings.Contains(value, "-") {
		return time.Time{}, err
	}
	return parseUnixTimestamp(value)
}

// parseUnixTimestamp reads "seconds[.nanoseconds]".
func parseUnixTimestamp(value string) (time.Time, error) {
	bad := fmt.Errorf("failed to parse value as time or duration: %q", value)
	secStr, nanoStr, hasNano := strings.Cut(value, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, bad
	}
	var nsec int64
	if hasNano {
		if nanoStr == "" || len(nanoStr) > 9 {
			return time.Time{}, bad
		}
		if nsec, err = strconv.ParseInt(nanoStr+strings.Repeat("0", 9-len(nanoStr)), 10, 64); err != nil {
			return time.Time{}, bad
		}
	}
	return time.Unix(sec, nsec), nil
}
