package depstatus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// States of a dependency.
const (
	StateUp      = "up"      // its last result was a success
	StateDown    = "down"    // its last result was a failure
	StateUnknown = "unknown" // nothing tried yet
)

// Status is one dependency's view: what it is, where it is configured, and its last results.
type Status struct {
	Name        string     `json:"name"`      // e.g. "prometheus", "llm:openai/gpt-4o", "notify:email"
	Kind        string     `json:"kind"`      // prometheus, alertmanager, elasticsearch, traces, notify, llm, twilio, github
	ConfigKey   string     `json:"configKey"` // the configuration key to check, e.g. "prometheus.url"
	State       string     `json:"state"`     // up, down, unknown
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	LastFailure *time.Time `json:"lastFailure,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	Successes   uint64     `json:"successes"`
	Failures    uint64     `json:"failures"`
}

// Dep is one registered dependency. Its methods are safe for concurrent use; a nil *Dep does
// nothing (an integration that is not tracked).
type Dep struct {
	mu    sync.Mutex
	st    Status
	probe func(context.Context) error
	// lastAt orders results: a probe that started before a newer traffic result does not
	// overwrite it.
	lastAt time.Time
}

// Success records an answer from the dependency.
func (d *Dep) Success() { d.record(time.Now(), nil) }

// Failure records that the dependency did not answer (or answered with a server error).
func (d *Dep) Failure(err error) {
	if err == nil {
		err = errors.New("failed")
	}
	d.record(time.Now(), err)
}

// Result records err (nil: success).
func (d *Dep) Result(err error) {
	if err == nil {
		d.Success()
		return
	}
	d.Failure(err)
}

func (d *Dep) record(at time.Time, err error) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		d.st.Successes++
		if d.st.LastSuccess == nil || at.After(*d.st.LastSuccess) {
			d.st.LastSuccess = &at
		}
	} else {
		d.st.Failures++
		if d.st.LastFailure == nil || at.After(*d.st.LastFailure) {
			d.st.LastFailure = &at
			d.st.LastError = truncate(err.Error(), 300)
		}
	}
	if !at.Before(d.lastAt) {
		d.lastAt = at
		d.st.State = StateUp
		if err != nil {
			d.st.State = StateDown
		}
	}
}

// Status returns a copy of the dependency's view.
func (d *Dep) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

// Transport wraps base (nil: http.DefaultTransport) so that every request's outcome is recorded:
// a transport error or a 5xx is a failure; any other answer, 4xx included, shows the system is
// up (the request itself may be wrong, the dependency answered).
func (d *Dep) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if d == nil {
		return base
	}
	return &transport{base: base, dep: d}
}

type transport struct {
	base http.RoundTripper
	dep  *Dep
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	switch {
	case err != nil:
		if !errors.Is(err, context.Canceled) {
			t.dep.Failure(err)
		}
	case resp.StatusCode >= 500:
		t.dep.Failure(fmt.Errorf("%s %s: HTTP %d", r.Method, redact(r.URL), resp.StatusCode))
	default:
		t.dep.Success()
	}
	return resp, err
}

// Client returns an HTTP client with timeout whose requests are recorded (see Transport).
func (d *Dep) Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: d.Transport(http.DefaultTransport.(*http.Transport).Clone())}
}

// Registry holds the dependencies of one process.
type Registry struct {
	mu   sync.Mutex
	deps []*Dep
}

// New returns an empty registry.
func New() *Registry { return &Registry{} }

// Add registers a dependency (or returns the one of that name) with an optional probe: a light
// request that shows whether it answers, without side effects.
func (r *Registry) Add(name, kind, configKey string, probe func(context.Context) error) *Dep {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.deps {
		if d.st.Name == name {
			return d
		}
	}
	d := &Dep{st: Status{Name: name, Kind: kind, ConfigKey: configKey, State: StateUnknown}, probe: probe}
	r.deps = append(r.deps, d)
	slices.SortFunc(r.deps, func(a, b *Dep) int { return strings.Compare(a.st.Name, b.st.Name) })
	return d
}

// Snapshot returns every dependency's status, by name.
func (r *Registry) Snapshot() []Status {
	if r == nil {
		return []Status{}
	}
	r.mu.Lock()
	deps := slices.Clone(r.deps)
	r.mu.Unlock()
	out := make([]Status, 0, len(deps))
	for _, d := range deps {
		out = append(out, d.Status())
	}
	return out
}

// Down returns the names of the dependencies whose last result was a failure.
func (r *Registry) Down() []string {
	var out []string
	for _, s := range r.Snapshot() {
		if s.State == StateDown {
			out = append(out, s.Name)
		}
	}
	return out
}

// Probe runs every probe at once, each bounded by timeout, records the results and returns the
// statuses of the dependencies that failed theirs.
func (r *Registry) Probe(ctx context.Context, timeout time.Duration) []Status {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	deps := slices.Clone(r.deps)
	r.mu.Unlock()
	var wg sync.WaitGroup
	failed := make([]bool, len(deps))
	for i, d := range deps {
		if d.probe == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			started := time.Now()
			err := d.probe(pctx)
			if ctx.Err() != nil {
				return // shutting down: not the dependency's fault
			}
			d.record(started, err)
			failed[i] = err != nil
		}()
	}
	wg.Wait()
	var out []Status
	for i, d := range deps {
		if failed[i] {
			out = append(out, d.Status())
		}
	}
	return out
}

// Run probes every interval until ctx ends.
func (r *Registry) Run(ctx context.Context, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Probe(ctx, timeout)
		}
	}
}

// HTTPProbe returns a probe that sends GET url and counts any answer below 500 as up.
func HTTPProbe(client *http.Client, rawURL string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("GET %s: HTTP %d", redactString(rawURL), resp.StatusCode)
		}
		return nil
	}
}

// DialProbe returns a probe that opens (and closes) a TCP connection to addr (host:port), for
// systems a request would have side effects on (SMTP, chat webhooks, Twilio).
func DialProbe(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// HostPort returns the host:port of an http(s) URL (the scheme's port when none is given).
func HostPort(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "", false
	}
	if u.Port() != "" {
		return u.Host, true
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port), true
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

func redactString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(url)"
	}
	return redact(u)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Collector exports the registry as Prometheus metrics: vigil_dependency_up (1 up, 0 down, -1
// unknown), vigil_dependency_last_success_timestamp_seconds and vigil_dependency_failures_total,
// labelled by name and kind.
func (r *Registry) Collector() prometheus.Collector { return collector{r} }

var (
	upDesc = prometheus.NewDesc("vigil_dependency_up", "Whether the dependency's last request or probe succeeded (1), failed (0), or none was made yet (-1).",
		[]string{"name", "kind"}, nil)
	lastOKDesc = prometheus.NewDesc("vigil_dependency_last_success_timestamp_seconds", "Unix time of the dependency's last success.",
		[]string{"name", "kind"}, nil)
	failDesc = prometheus.NewDesc("vigil_dependency_failures_total", "Failed requests and probes of the dependency.",
		[]string{"name", "kind"}, nil)
)

type collector struct{ r *Registry }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- lastOKDesc
	ch <- failDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.r.Snapshot() {
		up := -1.0
		switch s.State {
		case StateUp:
			up = 1
		case StateDown:
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, s.Name, s.Kind)
		if s.LastSuccess != nil {
			ch <- prometheus.MustNewConstMetric(lastOKDesc, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9, s.Name, s.Kind)
		}
		ch <- prometheus.MustNewConstMetric(failDesc, prometheus.CounterValue, float64(s.Failures), s.Name, s.Kind)
	}
}
