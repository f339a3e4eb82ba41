package sessiontest

import (
	"slices"
	"sync"

	"github.com/sessionguard/sessionguard/session"
)

// A Recorder keeps the events of a session.Manager, for assertions. Use
// its Record method as session.Config.OnEvent; a [Manager] does. It is
// safe for concurrent use: a Manager raises events from every goroutine
// serving a request. The zero value is an empty Recorder ready to use.
type Recorder struct {
	mu     sync.Mutex
	events []session.Event
}

// Record appends e. It is a session.Config.OnEvent function.
func (r *Recorder) Record(e session.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far, oldest first.
func (r *Recorder) Events() []session.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Of returns the recorded events of the given kinds, oldest first; with no
// kind, every event.
func (r *Recorder) Of(kinds ...session.EventKind) []session.Event {
	return r.Filter(func(e session.Event) bool { return len(kinds) == 0 || slices.Contains(kinds, e.Kind) })
}

// Filter returns the recorded events for which keep returns true, oldest
// first.
func (r *Recorder) Filter(keep func(session.Event) bool) []session.Event {
	var out []session.Event
	for _, e := range r.Events() {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Kinds returns the kinds of the recorded events, oldest first: a compact
// thing to compare with an expected sequence.
func (r *Recorder) Kinds() []session.EventKind {
	events := r.Events()
	kinds := make([]session.EventKind, len(events))
	for i, e := range events {
		kinds[i] = e.Kind
	}
	return kinds
}

// Count returns how many events of kind were recorded.
func (r *Recorder) Count(kind session.EventKind) int { return len(r.Of(kind)) }

// Last returns the most recent event of kind, and whether there is one.
func (r *Recorder) Last(kind session.EventKind) (session.Event, bool) {
	events := r.Of(kind)
	if len(events) == 0 {
		return session.Event{}, false
	}
	return events[len(events)-1], true
}

// Suspicious returns the recorded events whose kind is suspicious input
// or a failure (session.EventKind.Suspicious): what a test of the happy
// path usually expects to be empty.
func (r *Recorder) Suspicious() []session.Event {
	return r.Filter(func(e session.Event) bool { return e.Kind.Suspicious() })
}

// Reset forgets every recorded event.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}
