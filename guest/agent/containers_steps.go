//go:build linux

package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/log"
)

// steps times the parts of one container operation and logs them at debug
// level in one line ("create abc: image 0.1ms, mounts 0.0ms, ..."), the
// trace used to find where `run --rm` spends its time.
type steps struct {
	ctx   context.Context
	what  string
	start time.Time
	last  time.Time
	parts []string
}

func newSteps(ctx context.Context, what, id string) *steps {
	now := time.Now()
	return &steps{ctx: ctx, what: what + " " + shortID(id), start: now, last: now}
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
	log.G(s.ctx).Debugf("%s: %s (total %.1fms)", s.what, strings.Join(s.parts, ", "), float64(time.Since(s.start).Microseconds())/1000)
}
