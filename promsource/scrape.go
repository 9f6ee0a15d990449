package promsource

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ratePlaceholder is replaced in a Query's template by the rate window: at least four scrape
// intervals, and at least a step plus a scrape interval (Grafana's $__rate_interval rule), so
// rate() always has two samples or more in its range whatever the scrape interval.
const ratePlaceholder = "{{rate_interval}}"

// DefaultScrapeInterval is Prometheus's own default scrape interval, assumed when the interval is
// neither configured nor detectable.
const DefaultScrapeInterval = time.Minute

// detectTTL is how long a detected scrape interval is reused before it is detected again.
const detectTTL = 10 * time.Minute

// RateInterval returns the rate window for series scraped every scrape and evaluated every step:
// max(step + scrape, 4 × scrape), in whole seconds.
func RateInterval(scrape, step time.Duration) time.Duration {
	if scrape <= 0 {
		scrape = DefaultScrapeInterval
	}
	d := max(step+scrape, 4*scrape)
	return (d + time.Second - 1) / time.Second * time.Second
}

// promDuration renders d as a PromQL duration in seconds ("75s").
func promDuration(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + "s"
}

// SetScrapeInterval fixes the scrape interval (prometheus.scrape_interval) instead of detecting
// it. Zero restores detection. Call it before the client is used.
func (c *Client) SetScrapeInterval(d time.Duration) {
	c.scrapeMu.Lock()
	defer c.scrapeMu.Unlock()
	c.configuredScrape = d
}

// ScrapeInterval returns the scrape interval rate windows are built for and where it came from:
// "configured" (SetScrapeInterval), "status/config" (the global scrape_interval of the
// Prometheus configuration, from /api/v1/status/config), "samples" (the spacing of the `up`
// series' samples, for Prometheus-compatible stores without that endpoint) or "default" (1m).
// A detected value is reused for ten minutes.
func (c *Client) ScrapeInterval(ctx context.Context) (time.Duration, string) {
	c.scrapeMu.Lock()
	defer c.scrapeMu.Unlock()
	if c.configuredScrape > 0 {
		return c.configuredScrape, "configured"
	}
	if c.detectedScrape > 0 && time.Since(c.detectedAt) < detectTTL {
		return c.detectedScrape, c.detectedFrom
	}
	d, from := c.detectScrape(ctx)
	c.detectedScrape, c.detectedFrom, c.detectedAt = d, from, time.Now()
	return d, from
}

func (c *Client) detectScrape(ctx context.Context) (time.Duration, string) {
	if d, err := c.configScrapeInterval(ctx); err == nil && d > 0 {
		return d, "status/config"
	}
	// Thanos, Mimir and VictoriaMetrics do not serve the configuration: the samples of `up` (one
	// per scrape of every target) give the spacing.
	if s, err := c.Query(ctx, `quantile(0.5, count_over_time(up[10m]))`, time.Now()); err == nil && len(s) == 1 &&
		s[0].Value >= 1 && !math.IsInf(s[0].Value, 0) {
		d := time.Duration(float64(10*time.Minute) / s[0].Value).Round(time.Second)
		if d >= time.Second {
			return d, "samples"
		}
	}
	return DefaultScrapeInterval, "default"
}

// configScrapeInterval reads global.scrape_interval from /api/v1/status/config (1m when the
// configuration leaves it out, as Prometheus does).
func (c *Client) configScrapeInterval(ctx context.Context) (time.Duration, error) {
	status, body, err := c.get(ctx, c.configEndpoint, "status/config", url.Values{})
	if err != nil {
		return 0, err
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			YAML string `json:"yaml"`
		} `json:"data"`
	}
	if status/100 != 2 {
		return 0, &APIError{HTTPStatus: status, Message: snippet(body)}
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		return 0, fmt.Errorf("promsource: malformed status/config response")
	}
	var cfg struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
		} `yaml:"global"`
	}
	if err := yaml.Unmarshal([]byte(r.Data.YAML), &cfg); err != nil {
		return 0, fmt.Errorf("promsource: status/config: %w", err)
	}
	if cfg.Global.ScrapeInterval == "" {
		return DefaultScrapeInterval, nil
	}
	return ParseDuration(cfg.Global.ScrapeInterval)
}

// ParseDuration parses a PromQL duration: one or more of a number and a unit (ms, s, m, h, d, w,
// y), largest unit first, e.g. "90s", "1h30m", "1d".
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindAllStringSubmatch(s, -1)
	if s == "" || strings.Join(flatten(m), "") != s {
		return 0, fmt.Errorf("promsource: %q is not a PromQL duration (e.g. 30s, 5m, 1h30m)", s)
	}
	var d time.Duration
	for _, p := range m {
		n, err := strconv.ParseInt(p[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("promsource: %q is not a PromQL duration: %w", s, err)
		}
		d += time.Duration(n) * durationUnits[p[2]]
	}
	return d, nil
}

var (
	durationRE    = regexp.MustCompile(`(\d+)(ms|s|m|h|d|w|y)`)
	durationUnits = map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute,
		"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	// rangeRE finds a range selector's (or subquery's) range: "[5m]", "[1h:1m]".
	rangeRE = regexp.MustCompile(`\[\s*([0-9][0-9a-z]*)\s*(?::[^\]]*)?\]`)
)

func flatten(m [][]string) []string {
	out := make([]string, 0, len(m))
	for _, p := range m {
		out = append(out, p[0])
	}
	return out
}

// ShortRanges returns the ranges written into tmpl (e.g. "[1m]") shorter than four scrape
// intervals: rate() and increase() over them hold fewer than the samples they need, and return
// nothing at a long scrape interval. Placeholders such as [{{rate_interval}}] are not checked.
func ShortRanges(tmpl string, scrape time.Duration) []string {
	if scrape <= 0 {
		return nil
	}
	var out []string
	for _, m := range rangeRE.FindAllStringSubmatch(tmpl, -1) {
		d, err := ParseDuration(m[1])
		if err == nil && d < 4*scrape {
			out = append(out, m[0])
		}
	}
	return out
}
