package audit

import "strings"

// checkCacheControl looks at the check page as the signed-in victim got it.
func (a *auditor) checkCacheControl() Check {
	c := newCheck(IDCacheControl)
	p := a.checkPage
	cc := p.header.Values("Cache-Control")
	v := strings.Join(cc, ", ")
	if v == "" {
		c.add("%s as the signed-in victim: no Cache-Control header", rel(p.url))
	} else {
		c.add("%s as the signed-in victim: Cache-Control: %s", rel(p.url), v)
	}
	for _, d := range strings.Split(strings.ToLower(v), ",") {
		if strings.TrimSpace(d) == "no-store" {
			c.result(StatusPass)
			return c
		}
	}
	c.fail(SeverityLow)
	c.add("without no-store, a shared cache or the browser's history may keep and show this signed-in page")
	return c
}
