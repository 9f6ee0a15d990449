package starter

import (
	"mime"
	"net"
	"net/http"
	"strings"
)

// Browser safety. A web page the operator visits can send requests to Vigil (a `vigil dev` on
// loopback takes them without a key) and, through DNS rebinding, even read the answers. Three
// checks stop that, on every route:
//   - the Host header must name this server (AllowedHosts): a rebound name is refused, as /mcp
//     refuses it;
//   - a state-changing request (POST, PUT, PATCH, DELETE) must come from the same origin or
//     from no browser at all (Sec-Fetch-Site, else Origin against Host; net/http's
//     CrossOriginProtection); only the Temporal Web UI's origins may call /codec/;
//   - its body must be JSON (Content-Type: application/json), which a cross-site page cannot
//     send without a CORS preflight that Vigil never grants; Twilio's callbacks are forms.
//
// /healthz and /metrics skip the Host check (load balancers and orchestrators probe them by
// address); they change nothing and hold no incident data.

// LoopbackHosts are the Host names every Vigil server accepts.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostPolicy is the set of Host names (lower case, without port) a server answers to.
type hostPolicy struct {
	any   bool
	names map[string]bool
}

func newHostPolicy(hosts []string) hostPolicy {
	if len(hosts) == 0 {
		return hostPolicy{any: true}
	}
	p := hostPolicy{names: map[string]bool{}}
	for _, h := range hosts {
		if h == "*" {
			p.any = true
		}
		p.names[normalHost(h)] = true
	}
	return p
}

// normalHost lower-cases a host name and drops a port, IPv6 brackets and a trailing dot.
func normalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.ToLower(h)
}

func (p hostPolicy) allows(host string) bool {
	if p.any {
		return true
	}
	h := normalHost(host)
	if p.names[h] {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// stateChanging reports whether a request may change something (not a safe method).
func stateChanging(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// isTwilioCallback reports whether the path is one of Twilio's form-encoded callbacks.
func isTwilioCallback(path string) bool {
	return strings.HasPrefix(path, "/v1/oncall/") && strings.Contains(path, "/twilio/")
}

// browserGuard applies the Host, origin and content-type checks before next.
func (a *API) browserGuard(next http.Handler) http.Handler {
	hosts := newHostPolicy(a.AllowedHosts)
	site := http.NewCrossOriginProtection()
	codecSite := http.NewCrossOriginProtection()
	for _, o := range a.CodecOrigins {
		if err := codecSite.AddTrustedOrigin(strings.TrimRight(o, "/")); err != nil {
			a.Logger.Warn("codec origin ignored", "origin", o, "error", err)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probe := r.Method == http.MethodGet && (r.URL.Path == "/healthz" || r.URL.Path == "/metrics")
		if !probe && !hosts.allows(r.Host) {
			writeProblem(w, Problem{Status: http.StatusForbidden, Title: "Host not allowed",
				Detail: "the Host header " + quote(r.Host) + " does not name this server (http.allowed_hosts)"})
			return
		}
		if !stateChanging(r) {
			next.ServeHTTP(w, r)
			return
		}
		cop := site
		if strings.HasPrefix(r.URL.Path, "/codec/") {
			cop = codecSite
		}
		if err := cop.Check(r); err != nil {
			writeProblem(w, Problem{Status: http.StatusForbidden, Title: "Cross-origin request refused",
				Detail: "a state-changing request must come from the same origin or from outside a browser: " + err.Error()})
			return
		}
		if p, ok := contentTypeProblem(r); !ok {
			writeProblem(w, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// contentTypeProblem checks a state-changing request's Content-Type: application/json (form
// encoding for Twilio's callbacks). A request without a body may omit it.
func contentTypeProblem(r *http.Request) (Problem, bool) {
	ct := r.Header.Get("Content-Type")
	want := "application/json"
	if isTwilioCallback(r.URL.Path) {
		want = "application/x-www-form-urlencoded"
	}
	if ct == "" && (r.ContentLength == 0 || r.Method == http.MethodDelete && r.ContentLength <= 0) {
		return Problem{}, true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == want {
		return Problem{}, true
	}
	return Problem{Status: http.StatusUnsupportedMediaType, Title: "Unsupported media type",
		Errors: []ProblemField{{Field: "Content-Type", Message: "must be " + want + ", got " + quote(ct)}}}, false
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
