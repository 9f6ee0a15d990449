package config

import (
	"github.com/vigil-ops/vigil/alertmap"

	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/promsource"
	"gopkg.in/yaml.v3"
)

var (
	envNameRe      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	providerNameRe = regexp.MustCompile(`^[a-z0-9-]+$`)
	keyIDRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	indexPrefixRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	indexPatternRe = regexp.MustCompile(`^[a-z0-9*][a-z0-9._*:,+-]*$`)
	keyHashRe      = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	twilioSIDRE    = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
)

// Validate checks the configuration and returns every problem found, as an
// [errors.Join] of [*FieldError]s, or nil. It does not touch the network,
// the file system or secrets; see [Config.CheckSecrets] and
// [Config.ValidateProduction].
func (c *Config) Validate() error {
	v := &collector{m: c.meta}
	c.validateRefs(v)

	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	if strings.TrimSpace(c.DataDir) == "" {
		v.add("data_dir", "must not be empty")
	}

	v.hostPort("http.address", c.HTTP.Address, true)
	if c.HTTP.MaxBodyBytes <= 0 {
		v.add("http.max_body_bytes", "must be > 0")
	}
	if c.HTTP.ReadTimeout <= 0 {
		v.add("http.read_timeout", "must be > 0")
	}
	if c.HTTP.WriteTimeout <= 0 {
		v.add("http.write_timeout", "must be > 0")
	}
	v.httpURL("http.public_url", c.HTTP.PublicURL)
	for i, h := range c.HTTP.AllowedHosts {
		p := indexPath("http.allowed_hosts", i)
		switch {
		case h == "":
			v.add(p, "must not be empty")
		case h == "*":
		case strings.ContainsAny(h, "/ @") || strings.Contains(h, ":") && net.ParseIP(strings.Trim(h, "[]")) == nil:
			v.add(p, "a host name or IP address without scheme, port or path, got %q", h)
		}
	}

	v.hostPort("temporal.address", c.Temporal.Address, false)
	v.required("temporal.namespace", c.Temporal.Namespace)
	v.required("temporal.task_queue", c.Temporal.TaskQueue)
	tls := c.Temporal.TLS
	if (tls.CertFile == "") != (tls.KeyFile == "") {
		if tls.CertFile == "" {
			v.add("temporal.tls.cert_file", "required when temporal.tls.key_file is set")
		} else {
			v.add("temporal.tls.key_file", "required when temporal.tls.cert_file is set")
		}
	}
	if !tls.Enabled {
		for _, f := range []struct{ key, val string }{
			{"ca_file", tls.CAFile}, {"cert_file", tls.CertFile}, {"key_file", tls.KeyFile}, {"server_name", tls.ServerName},
		} {
			if f.val != "" {
				v.add("temporal.tls."+f.key, "is set but temporal.tls.enabled is false")
			}
		}
	}

	v.hostPort("dev.ui_address", c.Dev.UIAddress, true)

	if u := c.Database.URL; u != "" {
		if msg := checkDatabaseURL(u); msg != "" {
			v.add("database.url", "%s", msg)
		}
	}

	v.httpURL("prometheus.url", c.Prometheus.URL)
	if d := c.Prometheus.ScrapeInterval; d < 0 || d > time.Hour || d%time.Second != 0 {
		v.add("prometheus.scrape_interval", "must be a whole number of seconds between 0 (detect it) and 1h, got %s", d)
	}
	c.validatePrometheusQueries(v)
	v.httpURL("alertmanager.url", c.Alertmanager.URL)
	if l := c.Alertmanager.ApplicationLabel; l != "" && !labelNameRE.MatchString(l) {
		v.add("alertmanager.application_label", "%q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", l)
	}
	for i, u := range c.Elasticsearch.URLs {
		p := indexPath("elasticsearch.urls", i)
		if u == "" {
			v.add(p, "must not be empty")
			continue
		}
		v.httpURL(p, u)
	}
	if !indexPrefixRe.MatchString(c.Elasticsearch.IndexPrefix) {
		v.add("elasticsearch.index_prefix", "must be lowercase letters, digits, '.', '_' or '-' (an Elasticsearch index name), got %q", c.Elasticsearch.IndexPrefix)
	}

	for _, d := range []struct {
		key      string
		val, max time.Duration
	}{{"gateway.batch_interval", c.Gateway.BatchInterval, time.Second},
		{"gateway.role_cache_ttl", c.Gateway.RoleCacheTTL, time.Minute},
		{"gateway.max_wait", c.Gateway.MaxWait, 10 * time.Minute}} {
		if d.val <= 0 || d.val > d.max {
			v.add(d.key, "must be > 0 and at most %s, got %s", d.max, d.val)
		}
	}
	c.validateCodec(v)
	c.validateAuth(v)
	c.validateProviders(v)
	c.validateChangeTracking(v)
	c.validateOnCall(v)
	c.validateCodeTuning(v)
	c.validateNotify(v)
	c.validateTraces(v)
	if c.Alerts.GroupWindow <= 0 {
		v.add("alerts.group_window", "must be > 0, got %s", c.Alerts.GroupWindow)
	}
	if c.Alerts.IncidentLifetime <= 0 {
		v.add("alerts.incident_lifetime", "must be > 0, got %s", c.Alerts.IncidentLifetime)
	}
	if l := c.Alerts.ApplicationLabel; l != "" && !labelNameRE.MatchString(l) {
		v.add("alerts.application_label", "%q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", l)
	}
	if lb := c.Alerts.Investigation.LookBack; lb < 0 || lb > 7*24*time.Hour {
		v.add("alerts.investigation.look_back", "must be between 0 (the default, 6h) and 168h, got %s", lb)
	}
	if w := c.Alerts.Investigation.Window; w < 0 || (w > 0 && w < 5*time.Minute) || w > 6*time.Hour {
		v.add("alerts.investigation.window", "must be 0 (the default, 30m) or between 5m and 6h, got %s", w)
	}
	c.validateInvestigationGitHub(v)
	c.validateGenericSources(v)

	return joinSorted(v.errs)
}

// ValidateProduction reports the requirements of `vigil server` and `vigil
// worker` beyond [Config.Validate]: a database must be configured. It does
// not repeat Validate's checks.
func (c *Config) ValidateProduction() error {
	v := &collector{m: c.meta}
	d := c.Database
	if d.URL == "" && d.URLEnv == "" && d.URLFile == "" {
		v.add("database.url", "required for vigil server and vigil worker (set database.url, database.url_env or database.url_file, or DATABASE_URL or VIGIL_DATABASE_URL)")
	}
	if c.Twilio.AccountSID != "" && c.HTTP.PublicURL == "" {
		v.add("http.public_url", "required with twilio: Twilio sends each call's acknowledgement to it")
	}
	return joinSorted(v.errs)
}

func joinSorted(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

// validateRefs checks every secret/alternative reference group: *_env
// values must be variable names (not secrets pasted in) and at most one
// form of each setting may be given.
func (c *Config) validateRefs(v *collector) {
	eachMapping(c.node(), "", func(path string, m *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i].Value
			if s, _ := stringValue(m.Content[i+1]); strings.HasSuffix(k, "_env") && s != "" && !envNameRe.MatchString(s) {
				v.add(joinPath(path, k), "%q is not an environment variable name (give the name of the variable holding the secret, not the secret)", redactForMessage(s))
			}
		}
		for _, g := range refGroups(m) {
			var set []string
			for _, i := range g {
				if s, _ := stringValue(m.Content[i+1]); s != "" {
					set = append(set, m.Content[i].Value)
				}
			}
			if len(set) > 1 {
				v.add(joinPath(path, set[len(set)-1]), "set only one of %s", strings.Join(set, ", "))
			}
		}
	})
}

// node returns c in its YAML form. Every field of Config can be encoded.
func (c *Config) node() *yaml.Node {
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		panic("config: cannot encode the configuration: " + err.Error())
	}
	return &n
}

// redactForMessage shortens a value that may be a secret before quoting it.
func redactForMessage(s string) string {
	if len(s) <= 4 {
		return s
	}
	return s[:2] + strings.Repeat("*", 3)
}

func (c *Config) validateCodec(v *collector) {
	ids := map[string]int{}
	for i, k := range c.Codec.Keys {
		p := indexPath("codec.keys", i)
		switch {
		case k.ID == "":
			v.add(p+".id", "required")
		case !keyIDRe.MatchString(k.ID):
			v.add(p+".id", "must be letters, digits, '.', '_' or '-', got %q", k.ID)
		default:
			if j, dup := ids[k.ID]; dup {
				v.add(p+".id", "duplicate key id %q (also codec.keys[%d])", k.ID, j)
			}
			ids[k.ID] = i
		}
		v.refRequired(p, "key", k.KeyEnv, k.KeyFile)
	}
	switch {
	case len(c.Codec.Keys) == 0 && c.Codec.ActiveKey != "":
		v.add("codec.active_key", "names key %q but codec.keys is empty", c.Codec.ActiveKey)
	case len(c.Codec.Keys) > 0 && c.Codec.ActiveKey == "":
		v.add("codec.active_key", "required when codec.keys is set")
	case len(c.Codec.Keys) > 0:
		if _, ok := ids[c.Codec.ActiveKey]; !ok {
			v.add("codec.active_key", "must name one of codec.keys (%s), got %q", strings.Join(keyIDs(c.Codec.Keys), ", "), c.Codec.ActiveKey)
		}
	}
}

func keyIDs(keys []CodecKey) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func (c *Config) validateAuth(v *collector) {
	hashes := map[string]int{}
	for i, k := range c.Auth.APIKeys {
		p := indexPath("auth.api_keys", i)
		v.required(p+".client", k.Client)
		v.required(p+".org", k.Org)
		switch {
		case k.KeyHash == "":
			v.add(p+".key_hash", "required (the SHA-256 of the key, 64 hex characters)")
		case !keyHashRe.MatchString(k.KeyHash):
			v.add(p+".key_hash", "must be the SHA-256 of the key as 64 hex characters")
		default:
			h := strings.ToLower(k.KeyHash)
			if j, dup := hashes[h]; dup {
				v.add(p+".key_hash", "duplicate key hash (also auth.api_keys[%d])", j)
			}
			hashes[h] = i
		}
	}
	names := map[string]int{}
	for i, t := range c.Auth.WebhookTokens {
		p := indexPath("auth.webhook_tokens", i)
		v.uniqueName(p+".name", t.Name, names, "auth.webhook_tokens", i)
		v.refRequired(p, "token", t.TokenEnv, t.TokenFile)
	}
	names = map[string]int{}
	for i, s := range c.Auth.HMACSecrets {
		p := indexPath("auth.hmac_secrets", i)
		v.uniqueName(p+".name", s.Name, names, "auth.hmac_secrets", i)
		v.refRequired(p, "secret", s.SecretEnv, s.SecretFile)
	}
	names = map[string]int{}
	for i, s := range c.Auth.GitHubSecrets {
		p := indexPath("auth.github_secrets", i)
		v.uniqueName(p+".name", s.Name, names, "auth.github_secrets", i)
		v.refRequired(p, "secret", s.SecretEnv, s.SecretFile)
	}
}

func (c *Config) validateProviders(v *collector) {
	names := map[string]int{}
	for i, pr := range c.Providers {
		p := indexPath("providers", i)
		switch {
		case pr.Name == "":
			v.add(p+".name", "required")
		case pr.Name == BuiltinProviderName:
			v.add(p+".name", "%q is reserved: the builtin provider always exists and must not be listed", pr.Name)
		case !providerNameRe.MatchString(pr.Name):
			v.add(p+".name", "must match [a-z0-9-]+, got %q", pr.Name)
		default:
			if j, dup := names[pr.Name]; dup {
				v.add(p+".name", "duplicate provider name %q (also providers[%d])", pr.Name, j)
			}
			names[pr.Name] = i
		}
		switch pr.Type {
		case ProviderOpenAI:
			if pr.BaseURL == "" {
				v.add(p+".base_url", "required for type openai")
			} else {
				v.httpURL(p+".base_url", pr.BaseURL)
			}
			if len(pr.Models) == 0 {
				v.add(p+".models", "at least one model is required for type openai")
			}
		case ProviderBuiltin:
			v.httpURL(p+".base_url", pr.BaseURL)
		default:
			v.add(p+".type", "must be one of openai, builtin; got %q", pr.Type)
		}
		if pr.Timeout <= 0 {
			v.add(p+".timeout", "must be > 0")
		}
		models := map[string]int{}
		for j, m := range pr.Models {
			mp := indexPath(p+".models", j)
			if m.Name == "" {
				v.add(mp+".name", "required")
			} else {
				if k, dup := models[m.Name]; dup {
					v.add(mp+".name", "duplicate model name %q (also %s.models[%d])", m.Name, p, k)
				}
				models[m.Name] = j
			}
			if m.RPM < 0 {
				v.add(mp+".rpm", "must be >= 0 (0 means unlimited)")
			}
			v.price(mp+".price.input_per_mtok", m.Price.InputPerMTok)
			v.price(mp+".price.output_per_mtok", m.Price.OutputPerMTok)
		}
	}
}

func (c *Config) validatePrometheusQueries(v *collector) {
	metrics := map[string]int{}
	for i, q := range c.Prometheus.Queries {
		p := indexPath("prometheus.queries", i)
		if q.Metric == "" {
			v.add(p+".metric", "required")
		} else {
			if j, dup := metrics[q.Metric]; dup {
				v.add(p+".metric", "duplicate metric %q (also prometheus.queries[%d])", q.Metric, j)
			}
			metrics[q.Metric] = i
		}
		if q.Disabled {
			continue
		}
		v.oneOf(p+".kind", q.Kind, KindTransaction, KindAlert, KindIssue)
		v.oneOf(p+".direction", q.Direction, DirectionHigherIsWorse, DirectionLowerIsWorse, DirectionNeutral)
		v.promQL(p+".promql", q.PromQL)
		v.shortRanges(p+".promql", q.PromQL, c.Prometheus.ScrapeInterval)
		if !(q.MinRelChange >= 0) || math.IsInf(q.MinRelChange, 0) {
			v.add(p+".min_rel_change", "must be a finite number >= 0 (e.g. 0.2 for 20 %%)")
		}
		if !(q.MinAbsChange >= 0) || math.IsInf(q.MinAbsChange, 0) {
			v.add(p+".min_abs_change", "must be a finite number >= 0, in the metric's unit")
		}
	}
	names := map[string]int{}
	for i, q := range c.Prometheus.Enrichment {
		p := indexPath("prometheus.enrichment", i)
		v.uniqueName(p+".name", q.Name, names, "prometheus.enrichment", i)
		if q.Disabled {
			continue
		}
		v.oneOf(p+".kind", q.Kind, KindTransaction, KindAlert, KindIssue)
		v.promQL(p+".promql", q.PromQL)
		v.shortRanges(p+".promql", q.PromQL, c.Prometheus.ScrapeInterval)
		if q.Limit < 0 || q.Limit > MaxEnrichmentLimit {
			v.add(p+".limit", "must be between 0 and %d (0 means the default), got %d", MaxEnrichmentLimit, q.Limit)
		}
	}
}

// shortRanges refuses ranges written into a template that are shorter than
// four scrape intervals (when prometheus.scrape_interval is set; otherwise
// the check happens at run time against the detected interval).
func (v *collector) shortRanges(path, tmpl string, scrape time.Duration) {
	if short := promsource.ShortRanges(tmpl, scrape); len(short) > 0 {
		v.add(path, "range %s is shorter than 4 scrape intervals (prometheus.scrape_interval %s): rate() and increase() then hold too few samples; use [{{rate_interval}}]",
			strings.Join(short, ", "), scrape)
	}
}

// promQL checks a PromQL template of prometheus.queries or
// prometheus.enrichment.
func (v *collector) promQL(path, tmpl string) {
	switch {
	case strings.TrimSpace(tmpl) == "":
		v.add(path, "required (a PromQL template containing %s and %s)", PlaceholderApp, PlaceholderOffset)
	case !strings.Contains(tmpl, PlaceholderApp):
		v.add(path, "must contain %s (replaced by the application name, e.g. {service_name=\"%s\"}); without it the query reads every application's data", PlaceholderApp, PlaceholderApp)
	case !strings.Contains(tmpl, PlaceholderOffset):
		v.add(path, "must contain %s right after each selector's range (e.g. [5m]%s); without it the baselines (a day and a week earlier) would equal the current window", PlaceholderOffset, PlaceholderOffset)
	default:
		// Where {{app}} may stand is promsource's rule (only in label="{{app}}"), checked by the
		// same code that runs the queries.
		var err error
		if strings.HasPrefix(path, "prometheus.enrichment") {
			err = promsource.EnrichQuery{Name: "q", Kind: KindTransaction, PromQL: tmpl}.Validate()
		} else {
			dir, _ := promsource.ParseDirection(promsource.DirectionHigherIsWorse)
			err = promsource.Query{Metric: "q", Kind: KindTransaction, Direction: dir, PromQL: tmpl}.Validate()
		}
		if pe := (*promsource.PlaceholderError)(nil); errors.As(err, &pe) {
			v.add(path, "%s", pe.Reason)
		}
	}
}

func (c *Config) validateChangeTracking(v *collector) {
	ct := c.ChangeTracking
	validateCheckpoints(v, "change_tracking.checkpoints", ct.Checkpoints)
	v.oneOf("change_tracking.notify", ct.Notify, NotifyAll, NotifyNotStable, NotifyNone)
	names := map[string]int{}
	for i, a := range ct.Applications {
		p := indexPath("change_tracking.applications", i)
		v.uniqueName(p+".name", a.Name, names, "change_tracking.applications", i)
		if len(a.Checkpoints) == 0 {
			v.add(p+".checkpoints", "at least one checkpoint is required (leave the application out to use change_tracking.checkpoints)")
			continue
		}
		validateCheckpoints(v, p+".checkpoints", a.Checkpoints)
	}
}

// validateCheckpoints checks a checkpoint schedule at path: strictly
// increasing, at most one negative.
func validateCheckpoints(v *collector, path string, cps []time.Duration) {
	negatives := 0
	for i, d := range cps {
		p := indexPath(path, i)
		if d < 0 {
			negatives++
			if negatives == 2 {
				v.add(p, "at most one negative checkpoint (a baseline before the change) is allowed")
			}
		}
		if i > 0 && d <= cps[i-1] {
			v.add(p, "must be greater than the previous checkpoint (%s); checkpoints must be strictly increasing", cps[i-1])
		}
	}
}

func (c *Config) validateNotify(v *collector) {
	e := c.Notify.Email
	if e.SMTPAddr == "" {
		if e.From != "" || len(e.To) > 0 || e.Username != "" || e.PasswordEnv != "" || e.PasswordFile != "" || e.StartTLS {
			v.add("notify.email.smtp_addr", "required when other notify.email settings are set")
		}
	} else {
		v.hostPort("notify.email.smtp_addr", e.SMTPAddr, false)
		if e.From == "" {
			v.add("notify.email.from", "required when notify.email.smtp_addr is set")
		} else {
			v.mailAddress("notify.email.from", e.From)
		}
		if len(e.To) == 0 {
			v.add("notify.email.to", "at least one recipient is required when notify.email.smtp_addr is set")
		}
		for i, to := range e.To {
			v.mailAddress(indexPath("notify.email.to", i), to)
		}
		if e.Username == "" && (e.PasswordEnv != "" || e.PasswordFile != "") {
			v.add("notify.email.username", "required when a password is set")
		}
	}

	s := c.Notify.Slack
	hook := s.WebhookURL != "" || s.WebhookURLEnv != "" || s.WebhookURLFile != ""
	bot := s.BotTokenEnv != "" || s.BotTokenFile != ""
	if s.WebhookURL != "" {
		if msg := CheckNotifyURL(s.WebhookURL); msg != "" {
			v.add("notify.slack.webhook_url", "%s", msg)
		}
	}
	switch {
	case hook && bot:
		p := "notify.slack.bot_token_env"
		if s.BotTokenEnv == "" {
			p = "notify.slack.bot_token_file"
		}
		v.add(p, "set either an incoming webhook (webhook_url, webhook_url_env, webhook_url_file) or a bot token, not both")
	case bot && s.Channel == "":
		v.add("notify.slack.channel", "required with a bot token")
	case !bot && s.Channel != "":
		v.add("notify.slack.channel", "is set but no bot token is (set bot_token_env or bot_token_file; an incoming webhook posts into its own channel)")
	}
	if s.APIURL == "" {
		if bot {
			v.add("notify.slack.api_url", "required with a bot token")
		}
	} else if msg := CheckNotifyURL(s.APIURL); msg != "" {
		v.add("notify.slack.api_url", "%s", msg)
	}

	w := c.Notify.Webhook
	if w.URL == "" {
		if w.TokenEnv != "" || w.TokenFile != "" {
			v.add("notify.webhook.url", "required when a token is set")
		}
	} else {
		v.httpURL("notify.webhook.url", w.URL)
	}
}

func (c *Config) validateTraces(v *collector) {
	names := map[string]int{}
	for i, o := range c.Traces.OTLP {
		p := indexPath("traces.otlp", i)
		v.uniqueName(p+".name", o.Name, names, "traces.otlp", i)
		switch {
		case o.URL == "":
			v.add(p+".url", "required (an absolute http(s) URL containing {traceId})")
		case checkHTTPURL(o.URL) != "":
			v.add(p+".url", "%s", checkHTTPURL(o.URL))
		case !strings.Contains(o.URL, "{traceId}"):
			v.add(p+".url", "must contain {traceId} (replaced by the trace ID), got %q", redactURL(o.URL))
		}
	}
	a := c.Traces.ElasticAPM
	for i, u := range a.URLs {
		p := indexPath("traces.elastic_apm.urls", i)
		if u == "" {
			v.add(p, "must not be empty")
			continue
		}
		v.httpURL(p, u)
	}
	if len(a.URLs) == 0 && (a.APIKeyEnv != "" || a.APIKeyFile != "") {
		v.add("traces.elastic_apm.urls", "required when an API key is set")
	}
	if !indexPatternRe.MatchString(a.Index) {
		v.add("traces.elastic_apm.index", "must be an Elasticsearch index name or pattern (lowercase letters, digits, '*', '.', '_', '-', ',', ':'), got %q", a.Index)
	}
}

// CheckNotifyURL checks a URL that carries notifications (and so possibly
// secrets): it must be an absolute https URL; http is accepted only for
// 127.0.0.1, ::1 and localhost. It returns "" when the URL is acceptable.
func CheckNotifyURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Sprintf("must be an absolute https URL, got %q", redactURL(s))
	}
	if u.Scheme == "http" {
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
		default:
			return fmt.Sprintf("must be an https URL (http is accepted only for 127.0.0.1 and localhost), got %q", redactURL(s))
		}
	}
	return ""
}

func (v *collector) mailAddress(path, s string) {
	a, err := mail.ParseAddress(s)
	if err != nil || strings.ContainsAny(a.Address, "\r\n") {
		v.add(path, "invalid e-mail address %q", s)
	}
}

func (v *collector) required(path, s string) {
	if strings.TrimSpace(s) == "" {
		v.add(path, "required")
	}
}

func (v *collector) oneOf(path, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.add(path, "must be one of %s; got %q", strings.Join(allowed, ", "), s)
}

func (v *collector) uniqueName(path, name string, seen map[string]int, list string, i int) {
	if name == "" {
		v.add(path, "required")
		return
	}
	if j, dup := seen[name]; dup {
		v.add(path, "duplicate name %q (also %s[%d])", name, list, j)
	}
	seen[name] = i
}

// refRequired checks that a required secret <base> is given as exactly one
// of <base>_env and <base>_file (both set is reported by validateRefs).
func (v *collector) refRequired(parent, base, env, file string) {
	if env == "" && file == "" {
		v.add(parent+"."+base+"_env", "required: set %s_env or %s_file", base, base)
	}
}

func (v *collector) price(path string, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		v.add(path, "must be a finite number >= 0")
	}
}

// hostPort checks a host:port address; an empty host is accepted only for
// listen addresses.
func (v *collector) hostPort(path, addr string, listen bool) {
	if addr == "" {
		v.add(path, "required (host:port)")
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "must be host:port, got %q", addr)
		return
	}
	if host == "" && !listen {
		v.add(path, "must include a host, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, "invalid port %q", port)
	}
}

// httpURL checks an optional absolute http(s) URL.
func (v *collector) httpURL(path, s string) {
	if s == "" {
		return
	}
	if msg := checkHTTPURL(s); msg != "" {
		v.add(path, "%s", msg)
	}
}

func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("must be an absolute http(s) URL, got %q", redactURL(s))
	}
	return ""
}

func checkDatabaseURL(s string) string {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			return "invalid postgres URL"
		}
		return ""
	case strings.HasPrefix(s, "sqlite:"):
		if strings.TrimPrefix(s, "sqlite:") == "" {
			return "sqlite: URL needs a path (sqlite:PATH)"
		}
		return ""
	}
	return "must start with postgres://, postgresql:// or sqlite:"
}

// labelNameRE is a Prometheus/Alertmanager label name.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// langTagRE is a BCP 47 language tag as Twilio's <Say> takes it.
var langTagRE = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)

// e164RE is an E.164 phone number.
var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (c *Config) validateOnCall(v *collector) {
	o := c.OnCall
	for i, sev := range o.Severities {
		v.oneOf(indexPath("oncall.severities", i), sev, "critical", "warning", "info")
	}
	if o.AckTimeout <= 0 {
		v.add("oncall.ack_timeout", "must be > 0")
	}
	if o.Rounds < 1 || o.Rounds > 5 {
		v.add("oncall.rounds", "must be between 1 and 5, got %d", o.Rounds)
	}
	seen := map[string]int{}
	for i, e := range o.Rota {
		p := indexPath("oncall.rota", i)
		v.required(p+".application", e.Application)
		if j, dup := seen[e.Application]; dup && e.Application != "" {
			v.add(p+".application", "duplicate application %q (also oncall.rota[%d])", e.Application, j)
		}
		seen[e.Application] = i
		if len(e.People) == 0 {
			v.add(p+".people", "at least one person is required")
		}
		for k, person := range e.People {
			pp := indexPath(p+".people", k)
			v.required(pp+".name", person.Name)
			if !e164RE.MatchString(person.Phone) {
				v.add(pp+".phone", "%q is not an E.164 number (+ country code and number, e.g. +15551230001)", person.Phone)
			}
		}
	}
	t := c.Twilio
	if t.AccountSID == "" {
		if len(o.Rota) > 0 {
			v.add("oncall.rota", "paging needs phone calls: set twilio.account_sid (or remove the rota)")
		}
		return
	}
	if t.Language != "" && !langTagRE.MatchString(t.Language) {
		v.add("twilio.language", "%q is not a language tag like en-US or ko-KR", t.Language)
	}
	if !twilioSIDRE.MatchString(t.AccountSID) {
		v.add("twilio.account_sid", `must be "AC" followed by 32 hex digits (the Account SID of the Twilio console)`)
	}
	v.refRequired("twilio", "auth_token", t.AuthTokenEnv, t.AuthTokenFile)
	if !e164RE.MatchString(t.From) {
		v.add("twilio.from", "%q is not an E.164 number", t.From)
	}
	v.httpURL("twilio.base_url", t.BaseURL)
}

// repoRE is a GitHub owner/name.
var repoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)

func (c *Config) validateCodeTuning(v *collector) {
	t := c.CodeTuning
	if t.MaxProblems < 1 || t.MaxProblems > 10 {
		v.add("code_tuning.max_problems", "must be between 1 and 10, got %d", t.MaxProblems)
	}
	if t.Repository == "" {
		return
	}
	if !repoRE.MatchString(t.Repository) {
		v.add("code_tuning.repository", "%q is not owner/name", t.Repository)
	}
	v.required("code_tuning.base_branch", t.BaseBranch)
	if f := strings.Fields(t.Schedule); len(f) != 5 {
		v.add("code_tuning.schedule", "%q is not a cron expression of 5 fields (minute hour day month weekday)", t.Schedule)
	}
	v.refRequired("code_tuning.github", "token", t.GitHub.TokenEnv, t.GitHub.TokenFile)
	v.httpURL("code_tuning.github.api_url", t.GitHub.APIURL)
}

// validateInvestigationGitHub checks the applications' GitHub repositories: each application
// named once, each repository owner/name, and a token (its own or code_tuning.github's).
func (c *Config) validateInvestigationGitHub(v *collector) {
	g := c.Alerts.Investigation.GitHub
	v.httpURL("alerts.investigation.github.api_url", g.APIURL)
	if len(g.Repositories) == 0 {
		return
	}
	seen := map[string]int{}
	for i, r := range g.Repositories {
		p := indexPath("alerts.investigation.github.repositories", i)
		switch prev, dup := seen[r.Application]; {
		case strings.TrimSpace(r.Application) == "":
			v.add(p+".application", "required")
		case dup:
			v.add(p+".application", "%q is already given a repository at alerts.investigation.github.repositories[%d]", r.Application, prev)
		default:
			seen[r.Application] = i
		}
		if !repoRE.MatchString(r.Repository) {
			v.add(p+".repository", "%q is not owner/name", r.Repository)
		}
	}
	if len(g.Environment) > 255 {
		v.add("alerts.investigation.github.environment", "must be at most 255 bytes, got %d", len(g.Environment))
	}
	if acc := c.InvestigationGitHubAccess(); acc.TokenEnv == "" && acc.TokenFile == "" {
		v.add("alerts.investigation.github.token_env", "required when repositories are given: set token_env or token_file (or code_tuning.github's)")
	}
}

// builtinSourceNames are the alert sources a generic source may not be named after.
var builtinSourceNames = map[string]bool{"apm": true, "alertmanager": true, "sentry": true, "datadog": true, "kibana": true}

var sourceNameRe = regexp.MustCompile(`^[a-z0-9-]+$`)

// validateGenericSources checks each generic source: a unique name, a token by reference, and a
// mapping whose CEL expressions compile (each error at the line of its key).
func (c *Config) validateGenericSources(v *collector) {
	names := map[string]int{}
	for i, g := range c.Alerts.Sources.Generic {
		p := indexPath("alerts.sources.generic", i)
		switch {
		case g.Name == "":
			v.add(p+".name", "required")
		case !sourceNameRe.MatchString(g.Name):
			v.add(p+".name", "must match [a-z0-9-]+, got %q", g.Name)
		case builtinSourceNames[g.Name]:
			v.add(p+".name", "%q is a built-in alert source", g.Name)
		default:
			if j, dup := names[g.Name]; dup {
				v.add(p+".name", "duplicate name %q (also alerts.sources.generic[%d])", g.Name, j)
			}
			names[g.Name] = i
		}
		v.refRequired(p, "token", g.TokenEnv, g.TokenFile)
		if _, err := alertmap.Compile(g.Spec()); err != nil {
			var fes alertmap.FieldErrors
			if errors.As(err, &fes) {
				for _, fe := range fes {
					v.add(p+"."+fe.Field, "%s", fe.Message)
				}
			} else {
				v.add(p, "%s", err)
			}
		}
	}
}
