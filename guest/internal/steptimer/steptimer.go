// Package steptimer times the parts of one operation (a container create,
// start or remove) and logs them at debug level in one line, such as
// "create abc123: image 0.1ms, mounts 0.4ms (total 0.6ms)": the trace that
// shows where `run --rm` spends its time. Below debug level it costs a
// level check per part.
package steptimer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/log"
)

// Steps times one operation. The zero value is not usable; use New.
type Steps struct {
	ctx   context.Context
	what  string
	id    string
	start time.Time
	last  time.Time
	parts []string
}

// New starts timing the operation what on the object id (shortened to 12
// characters in the line; "" when it is not known yet, see SetID).
func New(ctx context.Context, what, id string) *Steps {
	now := time.Now()
	s := &Steps{ctx: ctx, what: what, start: now, last: now}
	s.SetID(id)
	return s
}

// SetID names the object, for an operation that learns it on the way
// (a create).
func (s *Steps) SetID(id string) {
	if len(id) > 12 {
		id = id[:12]
	}
	s.id = id
}

// Done records the part that just ended.
func (s *Steps) Done(part string) {
	if log.GetLevel() < log.DebugLevel {
		return
	}
	now := time.Now()
	s.parts = append(s.parts, fmt.Sprintf("%s %.1fms", part, ms(now.Sub(s.last))))
	s.last = now
}

// Line is the line Log writes ("" when no part was recorded).
func (s *Steps) Line() string {
	if len(s.parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s %s: %s (total %.1fms)", s.what, s.id, strings.Join(s.parts, ", "), ms(time.Since(s.start)))
}

// Log writes the line at debug level.
func (s *Steps) Log() {
	if l := s.Line(); l != "" {
		log.G(s.ctx).Debug(l)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
