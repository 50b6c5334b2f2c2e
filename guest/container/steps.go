package container

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/log"
)

// steps times the parts of one runtime operation and logs them at debug
// level in one line, the trace that shows where a start or a delete spends
// its time.
type steps struct {
	ctx   context.Context
	what  string
	start time.Time
	last  time.Time
	parts []string
}

func newSteps(ctx context.Context, what, id string) *steps {
	now := time.Now()
	if len(id) > 12 {
		id = id[:12]
	}
	return &steps{ctx: ctx, what: what + " " + id, start: now, last: now}
}

// done records the part that just ended.
func (s *steps) done(part string) {
	if log.GetLevel() < log.DebugLevel {
		return
	}
	now := time.Now()
	s.parts = append(s.parts, fmt.Sprintf("%s %.1fms", part, float64(now.Sub(s.last).Microseconds())/1000))
	s.last = now
}

// log writes the line.
func (s *steps) log() {
	if len(s.parts) == 0 {
		return
	}
	log.G(s.ctx).Debugf("runtime %s: %s (total %.1fms)", s.what, strings.Join(s.parts, ", "), float64(time.Since(s.start).Microseconds())/1000)
}
