//go:build linux

package agent

import (
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/berth-dev/berth/proto/agent/v1"
)

// eventBus fans engine events out to the Events subscribers. A slow
// subscriber loses events rather than stalling the engine.
type eventBus struct {
	mu   sync.Mutex
	subs map[chan *agentv1.Event]struct{}
}

func newEventBus() *eventBus {
	return &eventBus{subs: map[chan *agentv1.Event]struct{}{}}
}

// publish sends an event of typ/action about id to every subscriber.
func (b *eventBus) publish(typ, action, id string, attrs map[string]string) {
	ev := &agentv1.Event{
		Time:       timestamppb.New(time.Now()),
		Type:       typ,
		Action:     action,
		Id:         id,
		Attributes: attrs,
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// subscribe returns a channel of events and a function that ends the
// subscription.
func (b *eventBus) subscribe() (<-chan *agentv1.Event, func()) {
	ch := make(chan *agentv1.Event, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}
