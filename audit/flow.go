package audit

import (
	"fmt"
	"strings"
)

// Actors of a Step.
const (
	actorAttacker    = "attacker"
	actorVictim      = "victim"
	actorApplication = "application"
)

// flow records an attack as it happens, for Check.Flow.
type flow []Step

// nav adds every request of a navigation and its response.
func (f *flow) nav(actor string, p *page) {
	if p == nil {
		return
	}
	for _, h := range p.hops {
		req := h.method + " " + relTo(p.base, h.url)
		if len(h.sent) > 0 {
			req += " with Cookie: " + strings.Join(h.sent, "; ")
		}
		*f = append(*f, Step{From: actor, To: actorApplication, Message: req})
		resp := fmt.Sprint(h.status)
		if h.location != "" {
			resp += ", Location: " + h.location
		}
		for _, c := range h.setCookies {
			resp += ", Set-Cookie: " + c.Name + "=" + c.Value
		}
		*f = append(*f, Step{From: actorApplication, To: actor, Message: resp})
	}
}

// add adds a message between two actors.
func (f *flow) add(from, to, format string, args ...any) {
	*f = append(*f, Step{From: from, To: to, Message: fmt.Sprintf(format, args...)})
}
