package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// y joins lines into a YAML document, so that line numbers in cases are
// easy to count.
func y(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// stripped returns a copy of c without provenance, for comparisons.
func stripped(c *Config) Config {
	cp := *c
	cp.meta = nil
	return cp
}

// provider is a valid providers section (lines 1-6), for cases to extend.
var provider = []string{
	"providers:",
	"  - name: local",
	"    base_url: http://127.0.0.1:9000/v1",
	"    models:",
	"      - name: model-a",
	"        rpm: 10",
}

// promql is a valid PromQL template, quoted for YAML.
const promql = `'sum(rate(x{app="{{app}}"}[5m]{{offset}}))'`

func with(base []string, more ...string) []byte {
	return y(append(append([]string{}, base...), more...)...)
}

func TestDefaultsValid(t *testing.T) {
	require.NoError(t, Default().Validate())

	c, err := Load("", nil)
	require.NoError(t, err)
	require.Equal(t, *Default(), stripped(c))
	require.Equal(t, "info", c.Log.Level)
	require.Equal(t, "127.0.0.1:7233", c.Temporal.Address)
	require.Equal(t, int64(1048576), c.HTTP.MaxBodyBytes)
	require.Equal(t, 30*time.Second, c.HTTP.ReadTimeout)
	require.Equal(t, []time.Duration{-30 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
		4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour}, c.ChangeTracking.Checkpoints)
	require.Equal(t, NotifyNotStable, c.ChangeTracking.Notify)
	require.Empty(t, c.ChangeTracking.Applications)
	require.Empty(t, c.Prometheus.Queries)
	require.Empty(t, c.Prometheus.Enrichment)
	require.Equal(t, filepath.Join(".vigil", "temporal.db"), c.DevTemporalDB())

	// Production needs a database; the defaults have none.
	err = c.ValidateProduction()
	require.Error(t, err)
	require.Contains(t, err.Error(), "database.url: required for vigil server and vigil worker")
	require.Contains(t, err.Error(), "(default)")

	// An empty or comment-only file is the defaults.
	for _, data := range [][]byte{nil, []byte("# nothing\n"), []byte("---\n")} {
		c, err := Parse("vigil.yaml", data, nil)
		require.NoError(t, err)
		require.Equal(t, *Default(), stripped(c))
	}
}

func TestExampleLoads(t *testing.T) {
	c, err := Parse("example.yaml", ExampleYAML, []string{})
	require.NoError(t, err)
	require.Equal(t, "local", c.Providers[0].Name)
	require.Equal(t, 600, c.Providers[0].Models[0].RPM)
	require.Equal(t, 0.15, c.Providers[0].Models[0].Price.InputPerMTok)
	require.Equal(t, "k1", c.Codec.ActiveKey)
	require.Error(t, c.ValidateProduction(), "the example configures no database")
	require.Equal(t, NotifyNotStable, c.ChangeTracking.Notify)
	require.Equal(t, []time.Duration{-30 * time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour}, c.ChangeTracking.CheckpointsFor("checkout-api"))
	require.Equal(t, c.ChangeTracking.Checkpoints, c.ChangeTracking.CheckpointsFor("other"))
	require.Len(t, c.Prometheus.Queries, 2)
	require.Equal(t, PrometheusQuery{Metric: "error_logs", Disabled: true}, c.Prometheus.Queries[1])
	require.Equal(t, 5, c.Prometheus.Enrichment[0].Limit)

	// Through a file, too.
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	require.NoError(t, os.WriteFile(path, ExampleYAML, 0o600))
	c2, err := Load(path, nil)
	require.NoError(t, err)
	require.Equal(t, stripped(c), stripped(c2))

	// The example documents every key: each key path of the struct
	// appears in it.
	for _, p := range leafPaths(reflect.TypeOf(Config{}), "") {
		key := p[strings.LastIndexAny(p, ".]")+1:]
		require.Contains(t, string(ExampleYAML), key+":", "example.yaml lacks %s", p)
	}
}

func TestRoundTrip(t *testing.T) {
	c, err := Parse("example.yaml", ExampleYAML, nil)
	require.NoError(t, err)
	c.Database.URL = "postgres://vigil@db:5432/vigil?sslmode=disable"
	c.Temporal.TLS = TLS{Enabled: true, CAFile: "/ca.pem", ServerName: "temporal"}
	c.RolesDir = "roles"
	c.Elasticsearch.URLs = []string{"http://a:9200", "https://b:9200"}
	require.NoError(t, c.Validate())

	out := c.Redacted()
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(out), 0o600))
	back, err := Load(path, nil)
	require.NoError(t, err, out)
	require.Equal(t, stripped(c), stripped(back))
	require.Equal(t, out, back.Redacted())
	require.Contains(t, out, "read_timeout: 30s")
}

func TestRedactedMasksURLPasswords(t *testing.T) {
	c := Default()
	c.Database.URL = "postgres://vigil:hunter2@db/vigil?sslmode=disable"
	c.Prometheus.URL = "https://prom.example.com/?token=abc"
	out := c.Redacted()
	require.NotContains(t, out, "hunter2")
	require.NotContains(t, out, "abc")
	require.Contains(t, out, "postgres://vigil:xxxxx@db/vigil?sslmode=disable")
}

// twilioOK is a valid twilio section, for cases about the rota.
const twilioOK = "twilio: {account_sid: AC00000000000000000000000000000000, auth_token_env: T, from: '+15550000000'}"

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml []byte
		want string
	}{
		{"log level", y("log:", "  level: verbose"), `vigil.yaml:2: log.level: must be one of debug, info, warn, error; got "verbose"`},
		{"log format", y("log:", "  format: xml"), `vigil.yaml:2: log.format: must be one of text, json`},
		{"data dir", y(`data_dir: ""`), "vigil.yaml:1: data_dir: must not be empty"},
		{"http address", y("http:", "  address: localhost"), `vigil.yaml:2: http.address: must be host:port`},
		{"http port", y("http:", "  address: :99999"), `vigil.yaml:2: http.address: invalid port "99999"`},
		{"max body", y("http:", "  max_body_bytes: 0"), "vigil.yaml:2: http.max_body_bytes: must be > 0"},
		{"read timeout", y("http:", "  read_timeout: 0s"), "vigil.yaml:2: http.read_timeout: must be > 0"},
		{"write timeout", y("http:", "  write_timeout: -1s"), "vigil.yaml:2: http.write_timeout: must be > 0"},
		{"public url", y("http:", "  public_url: ftp://x"), `vigil.yaml:2: http.public_url: must be an absolute http(s) URL, got "ftp://x"`},
		{"temporal address", y("temporal:", "  address: :7233"), `vigil.yaml:2: temporal.address: must include a host`},
		{"temporal namespace", y("temporal:", `  namespace: ""`), "vigil.yaml:2: temporal.namespace: required"},
		{"task queue", y("temporal:", `  task_queue: ""`), "vigil.yaml:2: temporal.task_queue: required"},
		{"tls cert without key", y("temporal:", "  tls:", "    enabled: true", "    cert_file: /c.pem"),
			"vigil.yaml:2: temporal.tls.key_file: required when temporal.tls.cert_file is set"},
		{"tls file while disabled", y("temporal:", "  tls:", "    ca_file: /ca.pem"),
			"vigil.yaml:3: temporal.tls.ca_file: is set but temporal.tls.enabled is false"},
		{"temporal key both", y("temporal:", "  api_key_env: K", "  api_key_file: /k"),
			"vigil.yaml:3: temporal.api_key_file: set only one of api_key_env, api_key_file"},
		{"env name is a secret", y("temporal:", "  api_key_env: sk-live-12345"),
			`vigil.yaml:2: temporal.api_key_env: "sk***" is not an environment variable name`},
		{"dev ui address", y("dev:", "  ui_address: nope"), "vigil.yaml:2: dev.ui_address: must be host:port"},
		{"database scheme", y("database:", "  url: mysql://h/db"), "vigil.yaml:2: database.url: must start with postgres://, postgresql:// or sqlite:"},
		{"database sqlite path", y("database:", "  url: 'sqlite:'"), "vigil.yaml:2: database.url: sqlite: URL needs a path"},
		{"database two forms", y("database:", "  url: sqlite:x.db", "  url_env: DB"), "vigil.yaml:3: database.url_env: set only one of url, url_env"},
		{"prometheus url", y("prometheus:", "  url: localhost:9090"), "vigil.yaml:2: prometheus.url: must be an absolute http(s) URL"},
		{"alertmanager url", y("alertmanager:", "  url: /api"), "vigil.yaml:2: alertmanager.url: must be an absolute http(s) URL"},
		{"elasticsearch url", y("elasticsearch:", "  urls:", "    - http://a:9200", "    - es:9200"), "vigil.yaml:4: elasticsearch.urls[1]: must be an absolute http(s) URL"},
		{"index prefix", y("elasticsearch:", "  index_prefix: Vigil"), "vigil.yaml:2: elasticsearch.index_prefix: must be lowercase"},
		{"codec active not a key", y("codec:", "  active_key: k2", "  keys:", "    - id: k1", "      key_env: K1"),
			`vigil.yaml:2: codec.active_key: must name one of codec.keys (k1), got "k2"`},
		{"codec active without keys", y("codec:", "  active_key: k1"), `vigil.yaml:2: codec.active_key: names key "k1" but codec.keys is empty`},
		{"codec keys without active", y("codec:", "  keys:", "    - id: k1", "      key_env: K1"), "vigil.yaml:1: codec.active_key: required when codec.keys is set"},
		{"codec key ref", y("codec:", "  active_key: k1", "  keys:", "    - id: k1"), "vigil.yaml:4: codec.keys[0].key_env: required: set key_env or key_file"},
		{"codec key id dup", y("codec:", "  active_key: k1", "  keys:", "    - {id: k1, key_env: A}", "    - {id: k1, key_env: B}"),
			`vigil.yaml:5: codec.keys[1].id: duplicate key id "k1" (also codec.keys[0])`},
		{"api key hash", y("auth:", "  api_keys:", "    - client: bot", "      org: acme", "      key_hash: abc"),
			"vigil.yaml:5: auth.api_keys[0].key_hash: must be the SHA-256 of the key as 64 hex characters"},
		{"api key client", y("auth:", "  api_keys:", "    - org: acme", "      key_hash: "+HashAPIKey("x")),
			"vigil.yaml:3: auth.api_keys[0].client: required"},
		{"api key dup", y("auth:", "  api_keys:", "    - {client: a, org: o, key_hash: "+HashAPIKey("x")+"}", "    - {client: b, org: o, key_hash: "+strings.ToUpper(HashAPIKey("x"))+"}"),
			"vigil.yaml:4: auth.api_keys[1].key_hash: duplicate key hash (also auth.api_keys[0])"},
		{"webhook token ref", y("auth:", "  webhook_tokens:", "    - name: am"), "vigil.yaml:3: auth.webhook_tokens[0].token_env: required: set token_env or token_file"},
		{"webhook token name", y("auth:", "  webhook_tokens:", "    - token_env: T"), "vigil.yaml:3: auth.webhook_tokens[0].name: required"},
		{"webhook dup", y("auth:", "  webhook_tokens:", "    - {name: am, token_env: A}", "    - {name: am, token_file: /b}"),
			`vigil.yaml:4: auth.webhook_tokens[1].name: duplicate name "am" (also auth.webhook_tokens[0])`},
		{"hmac ref both", y("auth:", "  hmac_secrets:", "    - name: apm", "      secret_env: S", "      secret_file: /s"),
			"vigil.yaml:5: auth.hmac_secrets[0].secret_file: set only one of secret_env, secret_file"},
		{"github secret ref", y("auth:", "  github_secrets:", "    - name: shop"), "vigil.yaml:3: auth.github_secrets[0].secret_env: required: set secret_env or secret_file"},
		{"allowed host with port", y("http:", "  allowed_hosts: [vigil.example.com, 'vigil:8080']"),
			`vigil.yaml:2: http.allowed_hosts[1]: a host name or IP address without scheme, port or path, got "vigil:8080"`},
		{"provider name missing", y("providers:", "  - base_url: http://x", "    models: [{name: m}]"), "vigil.yaml:2: providers[0].name: required"},
		{"provider reserved", y("providers:", "  - name: builtin", "    type: builtin"), `vigil.yaml:2: providers[0].name: "builtin" is reserved`},
		{"provider name pattern", y("providers:", "  - name: Local_1", "    type: builtin"), `vigil.yaml:2: providers[0].name: must match [a-z0-9-]+, got "Local_1"`},
		{"provider dup", with(provider, "  - name: local", "    type: builtin"), `vigil.yaml:7: providers[1].name: duplicate provider name "local" (also providers[0])`},
		{"provider type", with(provider, "    type: anthropic"), `vigil.yaml:7: providers[0].type: must be one of openai, builtin; got "anthropic"`},
		{"provider base url missing", y("providers:", "  - name: p", "    models: [{name: m}]"), "vigil.yaml:2: providers[0].base_url: required for type openai"},
		{"provider base url", y("providers:", "  - name: p", "    base_url: 127.0.0.1:9000", "    models: [{name: m}]"), "vigil.yaml:3: providers[0].base_url: must be an absolute http(s) URL"},
		{"provider models", y("providers:", "  - name: p", "    base_url: http://x"), "vigil.yaml:2: providers[0].models: at least one model is required for type openai"},
		{"provider timeout", with(provider, "    timeout: 0s"), "vigil.yaml:7: providers[0].timeout: must be > 0"},
		{"model rpm", y("providers:", "  - name: p", "    base_url: http://x", "    models:", "      - name: a", "        rpm: 1", "      - name: b", "        rpm: -5"),
			"vigil.yaml:8: providers[0].models[1].rpm: must be >= 0"},
		{"model name", with(provider, "      - rpm: 1"), "vigil.yaml:7: providers[0].models[1].name: required"},
		{"model dup", with(provider, "      - name: model-a"), `vigil.yaml:7: providers[0].models[1].name: duplicate model name "model-a" (also providers[0].models[0])`},
		{"model price", with(provider, "        price: {input_per_mtok: 1, output_per_mtok: -0.5}"),
			"vigil.yaml:7: providers[0].models[0].price.output_per_mtok: must be a finite number >= 0"},
		{"model price nan", with(provider, "        price:", "          input_per_mtok: .nan"),
			"vigil.yaml:8: providers[0].models[0].price.input_per_mtok: must be a finite number >= 0"},
		{"checkpoints increasing", y("change_tracking:", "  checkpoints:", "    - 10m", "    - 1h", "    - 30m"),
			"vigil.yaml:5: change_tracking.checkpoints[2]: must be greater than the previous checkpoint (1h0m0s)"},
		{"checkpoints negatives", y("change_tracking:", "  checkpoints: [-1h, -30m, 10m]"),
			"vigil.yaml:2: change_tracking.checkpoints[1]: at most one negative checkpoint"},
		{"query metric missing", y("prometheus:", "  queries:", "    - kind: TRANSACTION", "      direction: neutral", "      promql: "+promql),
			"vigil.yaml:3: prometheus.queries[0].metric: required"},
		{"query metric dup", y("prometheus:", "  queries:", "    - {metric: m, disabled: true}", "    - {metric: m, disabled: true}"),
			`vigil.yaml:4: prometheus.queries[1].metric: duplicate metric "m" (also prometheus.queries[0])`},
		{"query kind", y("prometheus:", "  queries:", "    - metric: m", "      kind: transaction", "      direction: neutral", "      promql: "+promql),
			`vigil.yaml:4: prometheus.queries[0].kind: must be one of TRANSACTION, ALERT, ISSUE; got "transaction"`},
		{"query kind missing", y("prometheus:", "  queries:", "    - metric: m", "      direction: neutral", "      promql: "+promql),
			`vigil.yaml:3: prometheus.queries[0].kind: must be one of TRANSACTION, ALERT, ISSUE; got ""`},
		{"query direction", y("prometheus:", "  queries:", "    - metric: m", "      kind: ALERT", "      direction: up", "      promql: "+promql),
			`vigil.yaml:5: prometheus.queries[0].direction: must be one of higher_is_worse, lower_is_worse, neutral; got "up"`},
		{"query promql missing", y("prometheus:", "  queries:", "    - metric: m", "      kind: ISSUE", "      direction: higher_is_worse"),
			"vigil.yaml:3: prometheus.queries[0].promql: required (a PromQL template containing {{app}} and {{offset}})"},
		{"query promql without app", y("prometheus:", "  queries:", "    - {metric: a, disabled: true}", "    - metric: m", "      kind: ISSUE", "      direction: lower_is_worse", "      promql: 'sum(rate(x[5m]{{offset}}))'"),
			"vigil.yaml:7: prometheus.queries[1].promql: must contain {{app}}"},
		{"query promql without offset", y("prometheus:", "  queries:", "    - metric: m", "      kind: ISSUE", "      direction: neutral", `      promql: 'sum(rate(x{app="{{app}}"}[5m]))'`),
			"vigil.yaml:6: prometheus.queries[0].promql: must contain {{offset}} right after each selector's range (e.g. [5m]{{offset}}); without it the baselines (a day and a week earlier) would equal the current window"},
		{"query range shorter than 4 scrapes", y("prometheus:", "  scrape_interval: 1m", "  queries:", "    - metric: m", "      kind: ISSUE", "      direction: neutral", `      promql: 'sum(rate(x{app="{{app}}"}[1m]{{offset}}))'`),
			"vigil.yaml:7: prometheus.queries[0].promql: range [1m] is shorter than 4 scrape intervals (prometheus.scrape_interval 1m0s)"},
		{"query min_rel_change negative", y("prometheus:", "  queries:", "    - metric: m", "      kind: ISSUE", "      direction: neutral", "      promql: "+promql, "      min_rel_change: -0.1"),
			"vigil.yaml:7: prometheus.queries[0].min_rel_change: must be a finite number >= 0"},
		{"scrape interval negative", y("prometheus:", "  scrape_interval: -15s"),
			"vigil.yaml:2: prometheus.scrape_interval: must be a whole number of seconds between 0 (detect it) and 1h"},
		{"enrichment name missing", y("prometheus:", "  enrichment:", "    - kind: ALERT", "      promql: "+promql),
			"vigil.yaml:3: prometheus.enrichment[0].name: required"},
		{"enrichment name dup", y("prometheus:", "  enrichment:", "    - {name: e, disabled: true}", "    - {name: e, disabled: true}"),
			`vigil.yaml:4: prometheus.enrichment[1].name: duplicate name "e" (also prometheus.enrichment[0])`},
		{"enrichment kind", y("prometheus:", "  enrichment:", "    - name: e", "      kind: LOGS", "      promql: "+promql),
			`vigil.yaml:4: prometheus.enrichment[0].kind: must be one of TRANSACTION, ALERT, ISSUE; got "LOGS"`},
		{"enrichment promql missing", y("prometheus:", "  enrichment:", "    - name: e", "      kind: ALERT"),
			"vigil.yaml:3: prometheus.enrichment[0].promql: required"},
		{"enrichment promql without app", y("prometheus:", "  enrichment:", "    - name: e", "      kind: ALERT", "      promql: 'topk(5, x[{{window}}]{{offset}})'"),
			"vigil.yaml:5: prometheus.enrichment[0].promql: must contain {{app}}"},
		{"enrichment promql without offset", y("prometheus:", "  enrichment:", "    - name: e", "      kind: ALERT", `      promql: 'x{app="{{app}}"}[{{window}}]'`),
			"vigil.yaml:5: prometheus.enrichment[0].promql: must contain {{offset}}"},
		{"enrichment limit negative", y("prometheus:", "  enrichment:", "    - name: e", "      kind: ISSUE", "      promql: "+promql, "      limit: -1"),
			"vigil.yaml:6: prometheus.enrichment[0].limit: must be between 0 and 100 (0 means the default), got -1"},
		{"enrichment limit too large", y("prometheus:", "  enrichment:", "    - name: e", "      kind: ISSUE", "      promql: "+promql, "      limit: 101"),
			"vigil.yaml:6: prometheus.enrichment[0].limit: must be between 0 and 100 (0 means the default), got 101"},
		{"change notify", y("change_tracking:", "  notify: always"), `vigil.yaml:2: change_tracking.notify: must be one of all, not_stable, none; got "always"`},
		{"oncall phone", y("oncall:", "  rota:", "    - application: api", "      people:", "        - {name: Kim, phone: 555-1234}", twilioOK),
			`vigil.yaml:5: oncall.rota[0].people[0].phone: "555-1234" is not an E.164 number (+ country code and number, e.g. +15551230001)`},
		{"oncall rounds", y("oncall:", "  rounds: 9"), "vigil.yaml:2: oncall.rounds: must be between 1 and 5, got 9"},
		{"oncall severity", y("oncall:", "  severities: [urgent]"), `vigil.yaml:2: oncall.severities[0]: must be one of critical, warning, info; got "urgent"`},
		{"oncall duplicate", y("oncall:", "  rota:", "    - {application: api, people: [{name: A, phone: '+15551230001'}]}", "    - {application: api, people: [{name: B, phone: '+15551230002'}]}", twilioOK),
			`vigil.yaml:4: oncall.rota[1].application: duplicate application "api" (also oncall.rota[0])`},
		{"oncall without twilio", y("oncall:", "  rota:", "    - {application: api, people: [{name: A, phone: '+15551230001'}]}"),
			"vigil.yaml:2: oncall.rota: paging needs phone calls: set twilio.account_sid (or remove the rota)"},
		{"twilio language", y("twilio:", "  account_sid: AC00000000000000000000000000000000", "  auth_token_env: T", "  from: '+15550000000'", "  language: english please"),
			`vigil.yaml:5: twilio.language: "english please" is not a language tag like en-US or ko-KR`},
		{"twilio sid length", y("twilio:", "  account_sid: AC123", "  auth_token_env: T", "  from: '+15550000000'"),
			`vigil.yaml:2: twilio.account_sid: must be "AC" followed by 32 hex digits`},
		{"twilio from", y("twilio:", "  account_sid: AC00000000000000000000000000000000", "  auth_token_env: T", "  from: nobody"), `vigil.yaml:4: twilio.from: "nobody" is not an E.164 number`},
		{"alertmanager label", y("alertmanager:", "  application_label: app-name"),
			`vigil.yaml:2: alertmanager.application_label: "app-name" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)`},
		{"change notify empty", y("change_tracking:", `  notify: ""`), `vigil.yaml:2: change_tracking.notify: must be one of all, not_stable, none; got ""`},
		{"application name missing", y("change_tracking:", "  applications:", "    - checkpoints: [10m]"),
			"vigil.yaml:3: change_tracking.applications[0].name: required"},
		{"application name dup", y("change_tracking:", "  applications:", "    - {name: api, checkpoints: [10m]}", "    - {name: api, checkpoints: [1h]}"),
			`vigil.yaml:4: change_tracking.applications[1].name: duplicate name "api" (also change_tracking.applications[0])`},
		{"application checkpoints missing", y("change_tracking:", "  applications:", "    - name: api"),
			"vigil.yaml:3: change_tracking.applications[0].checkpoints: at least one checkpoint is required"},
		{"application checkpoints empty", y("change_tracking:", "  applications:", "    - name: api", "      checkpoints: []"),
			"vigil.yaml:4: change_tracking.applications[0].checkpoints: at least one checkpoint is required"},
		{"application checkpoints increasing", y("change_tracking:", "  applications:", "    - name: api", "      checkpoints:", "        - 10m", "        - 1h", "        - 1h"),
			"vigil.yaml:7: change_tracking.applications[0].checkpoints[2]: must be greater than the previous checkpoint (1h0m0s)"},
		{"application checkpoints negatives", y("change_tracking:", "  applications:", "    - name: api", "      checkpoints: [-1h, -30m, 10m]"),
			"vigil.yaml:4: change_tracking.applications[0].checkpoints[1]: at most one negative checkpoint"},
		{"email without smtp_addr", y("notify:", "  email:", "    from: vigil@example.com"), "vigil.yaml:2: notify.email.smtp_addr: required when other notify.email settings are set"},
		{"email starttls without smtp_addr", y("notify:", "  email:", "    starttls: true"), "vigil.yaml:2: notify.email.smtp_addr: required when other notify.email settings are set"},
		{"email smtp_addr", y("notify:", "  email:", "    smtp_addr: smtp", "    from: a@b.c", "    to: [x@y.z]"), `vigil.yaml:3: notify.email.smtp_addr: must be host:port, got "smtp"`},
		{"email from", y("notify:", "  email:", "    smtp_addr: smtp:25", "    from: not an address", "    to: [x@y.z]"), `vigil.yaml:4: notify.email.from: invalid e-mail address "not an address"`},
		{"email from missing", y("notify:", "  email:", "    smtp_addr: smtp:25", "    to: [x@y.z]"), "vigil.yaml:2: notify.email.from: required when notify.email.smtp_addr is set"},
		{"email to missing", y("notify:", "  email:", "    smtp_addr: smtp:25", "    from: a@b.c"), "vigil.yaml:2: notify.email.to: at least one recipient is required when notify.email.smtp_addr is set"},
		{"email to invalid", y("notify:", "  email:", "    smtp_addr: smtp:25", "    from: a@b.c", "    to:", "      - ok@example.com", "      - nope"),
			`vigil.yaml:7: notify.email.to[1]: invalid e-mail address "nope"`},
		{"email password without user", y("notify:", "  email:", "    smtp_addr: smtp:25", "    from: a@b.c", "    to: [x@y.z]", "    password_env: P"),
			"vigil.yaml:2: notify.email.username: required when a password is set"},
		{"email password env name", y("notify:", "  email:", "    smtp_addr: smtp:25", "    from: a@b.c", "    to: [x@y.z]", "    username: u", "    password_env: hunter2!"),
			`vigil.yaml:7: notify.email.password_env: "hu***" is not an environment variable name`},
		{"email password both", y("notify:", "  email:", "    smtp_addr: smtp:25", "    from: a@b.c", "    to: [x@y.z]", "    username: u", "    password_env: P", "    password_file: /p"),
			"vigil.yaml:8: notify.email.password_file: set only one of password_env, password_file"},
		{"slack env name", y("notify:", "  slack:", "    webhook_url_env: https://hooks.slack.com/x"), `vigil.yaml:3: notify.slack.webhook_url_env: "ht***" is not an environment variable name`},
		{"slack webhook two forms", y("notify:", "  slack:", "    webhook_url: https://hooks.slack.com/services/T/B/X", "    webhook_url_env: H"),
			"vigil.yaml:4: notify.slack.webhook_url_env: set only one of webhook_url, webhook_url_env"},
		{"slack webhook http", y("notify:", "  slack:", "    webhook_url: http://hooks.example.com/x"),
			`vigil.yaml:3: notify.slack.webhook_url: must be an https URL (http is accepted only for 127.0.0.1 and localhost), got "http://hooks.example.com/x"`},
		{"slack webhook relative", y("notify:", "  slack:", "    webhook_url: hooks.slack.com/x"), `vigil.yaml:3: notify.slack.webhook_url: must be an absolute https URL`},
		{"slack webhook url redacted", y("notify:", "  slack:", "    webhook_url: ftp://hooks.slack.com/services/T0/B0/s3cr3t"),
			`vigil.yaml:3: notify.slack.webhook_url: must be an absolute https URL, got "ftp://hooks.slack.com/xxxxx"`},
		{"slack bot without channel", y("notify:", "  slack:", "    bot_token_env: SLACK_BOT_TOKEN"), "vigil.yaml:2: notify.slack.channel: required with a bot token"},
		{"slack channel without bot", y("notify:", "  slack:", "    channel: '#ops'"), "vigil.yaml:3: notify.slack.channel: is set but no bot token is"},
		{"slack webhook and bot", y("notify:", "  slack:", "    webhook_url_env: H", "    bot_token_file: /t", "    channel: C1"),
			"vigil.yaml:4: notify.slack.bot_token_file: set either an incoming webhook"},
		{"slack bot token both", y("notify:", "  slack:", "    bot_token_env: T", "    bot_token_file: /t", "    channel: C1"),
			"vigil.yaml:4: notify.slack.bot_token_file: set only one of bot_token_env, bot_token_file"},
		{"slack api url", y("notify:", "  slack:", "    api_url: http://slack.example.com/api"), "vigil.yaml:3: notify.slack.api_url: must be an https URL"},
		{"slack api url empty with bot", y("notify:", "  slack:", "    bot_token_env: T", "    channel: C1", `    api_url: ""`), "vigil.yaml:5: notify.slack.api_url: required with a bot token"},
		{"webhook url", y("notify:", "  webhook:", "    url: example.com/hook"), "vigil.yaml:3: notify.webhook.url: must be an absolute http(s) URL"},
		{"webhook token without url", y("notify:", "  webhook:", "    token_env: T"), "vigil.yaml:2: notify.webhook.url: required when a token is set"},
		{"webhook token env name", y("notify:", "  webhook:", "    url: https://x/h", "    token_env: abc-def"), `vigil.yaml:4: notify.webhook.token_env: "ab***" is not an environment variable name`},
		{"traces otlp name", y("traces:", "  otlp:", "    - url: http://tempo:3200/api/traces/{traceId}"), "vigil.yaml:3: traces.otlp[0].name: required"},
		{"traces otlp name dup", y("traces:", "  otlp:", "    - {name: t, url: 'http://a/{traceId}'}", "    - {name: t, url: 'http://b/{traceId}'}"),
			`vigil.yaml:4: traces.otlp[1].name: duplicate name "t" (also traces.otlp[0])`},
		{"traces otlp url missing", y("traces:", "  otlp:", "    - name: tempo"), "vigil.yaml:3: traces.otlp[0].url: required (an absolute http(s) URL containing {traceId})"},
		{"traces otlp url relative", y("traces:", "  otlp:", "    - name: tempo", "      url: tempo:3200/api/traces/{traceId}"),
			`vigil.yaml:4: traces.otlp[0].url: must be an absolute http(s) URL`},
		{"traces otlp url placeholder", y("traces:", "  otlp:", "    - name: tempo", "      url: http://tempo:3200/api/traces/"),
			`vigil.yaml:4: traces.otlp[0].url: must contain {traceId} (replaced by the trace ID), got "http://tempo:3200/api/traces/"`},
		{"traces otlp token env name", y("traces:", "  otlp:", "    - name: tempo", "      url: http://tempo/{traceId}", "      token_env: glsa-abc123"),
			`vigil.yaml:5: traces.otlp[0].token_env: "gl***" is not an environment variable name`},
		{"traces otlp token both", y("traces:", "  otlp:", "    - name: tempo", "      url: http://tempo/{traceId}", "      token_env: T", "      token_file: /t"),
			"vigil.yaml:6: traces.otlp[0].token_file: set only one of token_env, token_file"},
		{"traces apm url", y("traces:", "  elastic_apm:", "    urls:", "      - http://es:9200", "      - es:9200"), "vigil.yaml:5: traces.elastic_apm.urls[1]: must be an absolute http(s) URL"},
		{"traces apm key without urls", y("traces:", "  elastic_apm:", "    api_key_env: ES_KEY"), "vigil.yaml:2: traces.elastic_apm.urls: required when an API key is set"},
		{"traces apm key env name", y("traces:", "  elastic_apm:", "    urls: [http://es:9200]", "    api_key_env: a b"), `vigil.yaml:4: traces.elastic_apm.api_key_env: "a b" is not an environment variable name`},
		{"traces apm index", y("traces:", "  elastic_apm:", "    index: Traces APM"), `vigil.yaml:3: traces.elastic_apm.index: must be an Elasticsearch index name or pattern`},
		{"traces apm index empty", y("traces:", "  elastic_apm:", `    index: ""`), `vigil.yaml:3: traces.elastic_apm.index: must be an Elasticsearch index name or pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("vigil.yaml", tt.yaml, nil)
			require.Error(t, err)
			require.Nil(t, c)
			require.Contains(t, err.Error(), tt.want)
			fes := Errors(err)
			require.Len(t, fes, 1, "want exactly one error, got:\n%v", err)
			require.Equal(t, "vigil.yaml", fes[0].File)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml []byte
		want string
	}{
		{"unknown top-level key", y("log:", "  level: info", "promethus:", "  url: http://x"), `vigil.yaml:3: unknown key "promethus" (did you mean "prometheus"?)`},
		{"unknown nested key", y("http:", "  adress: :80"), `vigil.yaml:2: http: unknown key "adress" (did you mean "address"?)`},
		{"unknown key other spelling", y("http:", "  maxBodyBytes: 10"), `vigil.yaml:2: http: unknown key "maxBodyBytes" (did you mean "max_body_bytes"?)`},
		{"unknown key no suggestion", y("frobnicate: true"), `vigil.yaml:1: unknown key "frobnicate"`},
		{"literal api key", y("providers:", "  - name: local", "    api_key: sk-123"),
			"vigil.yaml:3: providers[0].api_key: secrets are only accepted by reference; use api_key_env or api_key_file"},
		{"literal password", y("notify:", "  email:", "    password: hunter2"),
			"vigil.yaml:3: notify.email.password: secrets are only accepted by reference; use password_env or password_file"},
		{"literal bot token", y("notify:", "  slack:", "    bot_token: xoxb-1"),
			"vigil.yaml:3: notify.slack.bot_token: secrets are only accepted by reference; use bot_token_env or bot_token_file"},
		{"literal webhook token", y("notify:", "  webhook:", "    token: abc"),
			"vigil.yaml:3: notify.webhook.token: secrets are only accepted by reference; use token_env or token_file"},
		{"old smtp section", y("notify:", "  smtp:", "    address: smtp:25"), `vigil.yaml:2: notify: unknown key "smtp"`},
		{"literal token", y("auth:", "  webhook_tokens:", "    - name: am", "      token: abc"),
			"vigil.yaml:4: auth.webhook_tokens[0].token: secrets are only accepted by reference; use token_env or token_file"},
		{"literal key", y("codec:", "  keys:", "    - id: k1", "      key: AAAA"),
			"vigil.yaml:4: codec.keys[0].key: secrets are only accepted by reference; use key_env or key_file"},
		{"literal secret without setting", y("prometheus:", "  password: x"),
			`vigil.yaml:2: prometheus: unknown key "password" (secrets are only accepted by reference`},
		{"bad duration", y("http:", "  read_timeout: 30"), `vigil.yaml:2: http.read_timeout: invalid duration "30"`},
		{"bad duration in list", y("change_tracking:", "  checkpoints:", "    - 1h", "    - soon"), `vigil.yaml:4: change_tracking.checkpoints[1]: invalid duration "soon"`},
		{"bad integer", y("http:", "  max_body_bytes: ten"), `vigil.yaml:2: http.max_body_bytes: invalid integer "ten"`},
		{"quoted integer", y("http:", `  max_body_bytes: "10"`), `vigil.yaml:2: http.max_body_bytes: invalid integer "10"`},
		{"integer overflow", y("providers:", "  - name: p", "    type: builtin", "    models:", "      - name: m", "        rpm: 99999999999999999999"),
			`vigil.yaml:6: providers[0].models[0].rpm: invalid integer`},
		{"bad bool", y("temporal:", "  tls:", "    enabled: maybe"), `vigil.yaml:3: temporal.tls.enabled: invalid boolean "maybe"`},
		{"bad float", y("providers:", "  - name: p", "    type: builtin", "    models:", "      - name: m", "        price: {input_per_mtok: cheap}"),
			`vigil.yaml:6: providers[0].models[0].price.input_per_mtok: invalid number "cheap"`},
		{"scalar for mapping", y("http: 8080"), `vigil.yaml:1: http: expected a mapping, got "8080"`},
		{"mapping for scalar", y("log:", "  level:", "    name: info"), "vigil.yaml:3: log.level: expected a string, got a mapping"},
		{"scalar for list", y("elasticsearch:", "  urls: http://a:9200"), `vigil.yaml:2: elasticsearch.urls: expected a list, got "http://a:9200"`},
		{"duplicate key", y("log:", "  level: info", "  level: debug"), "vigil.yaml:3: log.level: duplicate key (first set on line 2)"},
		{"top level not a mapping", y("- a", "- b"), "vigil.yaml:1: the top level must be a mapping"},
		{"two documents", y("log: {level: info}", "---", "log: {level: debug}"), "vigil.yaml:2: only one YAML document is allowed"},
		{"syntax error", y("log:", "  level: info", " format: json"), "vigil.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("vigil.yaml", tt.yaml, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse("vigil.yaml", y(
		"promethus: {}", // 1
		"http:",         // 2
		"  max_body_bytes: 0",
		"  read_timeout: soon", // 4
		"providers:",
		"  - name: local",
		"    api_key: x", // 7
	), []string{"VIGIL_HTTP_WRITE_TIMEOUT=forever"})
	require.Error(t, err)
	msgs := []string{}
	for _, fe := range Errors(err) {
		msgs = append(msgs, fe.Error())
	}
	require.Equal(t, []string{
		`vigil.yaml:1: unknown key "promethus" (did you mean "prometheus"?)`,
		"vigil.yaml:3: http.max_body_bytes: must be > 0",
		`vigil.yaml:4: http.read_timeout: invalid duration "soon" (use Go syntax such as 90s, 5m or 1h30m)`,
		"vigil.yaml:6: providers[0].base_url: required for type openai",
		"vigil.yaml:6: providers[0].models: at least one model is required for type openai",
		"vigil.yaml:7: providers[0].api_key: secrets are only accepted by reference; use api_key_env or api_key_file",
		`VIGIL_HTTP_WRITE_TIMEOUT: invalid duration "forever" (use Go syntax such as 90s, 5m or 1h30m)`,
	}, msgs)
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
}

func TestEnvPrecedence(t *testing.T) {
	file := y("temporal:", "  address: file:7233", "  namespace: file-ns", "database:", "  url: sqlite:file.db")
	tests := []struct {
		name    string
		env     []string
		addr    string
		ns      string
		db      string
		addrSrc string
	}{
		{"file only", nil, "file:7233", "file-ns", "sqlite:file.db", ""},
		{"conventional beats file", []string{"TEMPORAL_ADDRESS=conv:7233", "TEMPORAL_NAMESPACE=conv-ns", "DATABASE_URL=postgres://db/conv"},
			"conv:7233", "conv-ns", "postgres://db/conv", "TEMPORAL_ADDRESS"},
		{"VIGIL beats conventional", []string{"TEMPORAL_ADDRESS=conv:7233", "VIGIL_TEMPORAL_ADDRESS=vigil:7233",
			"DATABASE_URL=postgres://db/conv", "VIGIL_DATABASE_URL=postgres://db/vigil", "VIGIL_TEMPORAL_NAMESPACE=vigil-ns", "TEMPORAL_NAMESPACE=conv-ns"},
			"vigil:7233", "vigil-ns", "postgres://db/vigil", "VIGIL_TEMPORAL_ADDRESS"},
		{"VIGIL beats file", []string{"VIGIL_TEMPORAL_ADDRESS=vigil:7233"}, "vigil:7233", "file-ns", "sqlite:file.db", "VIGIL_TEMPORAL_ADDRESS"},
		{"empty conventional ignored", []string{"TEMPORAL_ADDRESS=", "DATABASE_URL="}, "file:7233", "file-ns", "sqlite:file.db", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("vigil.yaml", file, tt.env)
			require.NoError(t, err)
			require.Equal(t, tt.addr, c.Temporal.Address)
			require.Equal(t, tt.ns, c.Temporal.Namespace)
			require.Equal(t, tt.db, c.Database.URL)
			require.Equal(t, tt.addrSrc, c.meta.sources["temporal.address"])
		})
	}
}

func TestEnvReplacesOtherFormOfSetting(t *testing.T) {
	file := y("database:", "  url_env: DB_URL", "providers:", "  - name: p", "    base_url: http://x", "    api_key_file: /k", "    models: [{name: m}]")
	c, err := Parse("vigil.yaml", file, []string{"DATABASE_URL=postgres://db/x", "VIGIL_PROVIDERS_0_API_KEY_ENV=P_KEY"})
	require.NoError(t, err)
	require.Equal(t, Database{URL: "postgres://db/x"}, c.Database)
	require.Equal(t, "P_KEY", c.Providers[0].APIKeyEnv)
	require.Empty(t, c.Providers[0].APIKeyFile)

	// Within one source, two forms are still an error.
	_, err = Parse("", nil, []string{"VIGIL_DATABASE_URL=sqlite:x", "VIGIL_DATABASE_URL_ENV=X"})
	require.ErrorContains(t, err, "database.url_env: set only one of url, url_env (from VIGIL_DATABASE_URL_ENV)")
}

func TestEnvOverrides(t *testing.T) {
	file := with(provider)
	env := []string{
		"VIGIL_SERVER=http://elsewhere:8080", // not a key: ignored
		"VIGIL_CODEC_KEY_K1=c2VjcmV0",        // a secret, not a key: ignored
		"VIGIL_PROVIDERS_0_MODELS_0=x",       // not a key: ignored
		"VIGIL_HTTP_ADDRESS=0.0.0.0:9090",
		"VIGIL_HTTP_MAX_BODY_BYTES=2048",
		"VIGIL_HTTP_READ_TIMEOUT=90s",
		"VIGIL_HTTP_PUBLIC_URL=https://vigil.example.com",
		"VIGIL_LOG_FORMAT=json",
		"VIGIL_DATA_DIR=/var/lib/vigil",
		"VIGIL_TEMPORAL_TLS_ENABLED=true",
		"VIGIL_TEMPORAL_TLS_SERVER_NAME=temporal.example.com",
		"VIGIL_ELASTICSEARCH_URLS=http://a:9200, http://b:9200,",
		"VIGIL_CHANGE_TRACKING_CHECKPOINTS=-1h,15m,2h",
		"VIGIL_PROVIDERS_0_BASE_URL=https://llm.example.com/v1",
		"VIGIL_PROVIDERS_0_MODELS_0_RPM=42",
		"VIGIL_PROVIDERS_0_MODELS_0_PRICE_OUTPUT_PER_MTOK=1.25",
		"VIGIL_PROVIDERS_1_NAME=second", // appends an entry
		"VIGIL_PROVIDERS_1_TYPE=builtin",
	}
	c, err := Parse("vigil.yaml", file, env)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9090", c.HTTP.Address)
	require.Equal(t, int64(2048), c.HTTP.MaxBodyBytes)
	require.Equal(t, 90*time.Second, c.HTTP.ReadTimeout)
	require.Equal(t, "https://vigil.example.com", c.HTTP.PublicURL)
	require.Equal(t, "json", c.Log.Format)
	require.Equal(t, "/var/lib/vigil", c.DataDir)
	require.True(t, c.Temporal.TLS.Enabled)
	require.Equal(t, "temporal.example.com", c.Temporal.TLS.ServerName)
	require.Equal(t, []string{"http://a:9200", "http://b:9200"}, c.Elasticsearch.URLs)
	require.Equal(t, []time.Duration{-time.Hour, 15 * time.Minute, 2 * time.Hour}, c.ChangeTracking.Checkpoints)
	require.Equal(t, "https://llm.example.com/v1", c.Providers[0].BaseURL)
	require.Equal(t, "model-a", c.Providers[0].Models[0].Name)
	require.Equal(t, 42, c.Providers[0].Models[0].RPM)
	require.Equal(t, 1.25, c.Providers[0].Models[0].Price.OutputPerMTok)
	require.Len(t, c.Providers, 2)
	require.Equal(t, Provider{Name: "second", Type: "builtin", Timeout: time.Minute}, c.Providers[1])
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"integer", []string{"VIGIL_HTTP_MAX_BODY_BYTES=ten"}, `VIGIL_HTTP_MAX_BODY_BYTES: invalid integer "ten"`},
		{"boolean", []string{"VIGIL_TEMPORAL_TLS_ENABLED=sure"}, `VIGIL_TEMPORAL_TLS_ENABLED: invalid boolean "sure"`},
		{"duration", []string{"VIGIL_HTTP_READ_TIMEOUT=30"}, `VIGIL_HTTP_READ_TIMEOUT: invalid duration "30"`},
		{"duration list", []string{"VIGIL_CHANGE_TRACKING_CHECKPOINTS=1h,later"}, `VIGIL_CHANGE_TRACKING_CHECKPOINTS: item 2: invalid duration "later"`},
		{"float", []string{"VIGIL_PROVIDERS_0_MODELS_0_PRICE_INPUT_PER_MTOK=free"}, `VIGIL_PROVIDERS_0_MODELS_0_PRICE_INPUT_PER_MTOK: invalid number "free"`},
		{"index gap", []string{"VIGIL_PROVIDERS_2_NAME=x"}, "VIGIL_PROVIDERS_2_NAME: providers has no entry 2 (it has 1; new entries must be numbered in order from 1)"},
		{"valid value, invalid setting", []string{"VIGIL_HTTP_MAX_BODY_BYTES=0"}, "http.max_body_bytes: must be > 0 (from VIGIL_HTTP_MAX_BODY_BYTES)"},
		{"value from env in list", []string{"VIGIL_PROVIDERS_0_MODELS_0_RPM=-1"}, "providers[0].models[0].rpm: must be >= 0 (0 means unlimited) (from VIGIL_PROVIDERS_0_MODELS_0_RPM)"},
		{"new entry incomplete", []string{"VIGIL_PROVIDERS_1_BASE_URL=http://x"}, "providers[1].name: required (from VIGIL_PROVIDERS_1_*)"},
		{"conventional", []string{"TEMPORAL_ADDRESS=nohost"}, "temporal.address: must be host:port, got \"nohost\" (from TEMPORAL_ADDRESS)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("vigil.yaml", with(provider), tt.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// leafPaths lists the key paths of every scalar (or scalar list) of t,
// with index 0 for lists of mappings.
func leafPaths(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range yamlFields(t) {
		p := joinPath(prefix, f.name)
		switch {
		case isStructList(f.typ):
			out = append(out, leafPaths(f.typ.Elem(), indexPath(p, 0))...)
		case f.typ != durationType && isStruct(f.typ):
			out = append(out, leafPaths(f.typ, p)...)
		default:
			out = append(out, p)
		}
	}
	return out
}

func TestEveryKeyHasAnEnvName(t *testing.T) {
	seen := map[string]string{}
	for _, p := range leafPaths(reflect.TypeOf(Config{}), "") {
		name := EnvName(p)
		prev, dup := seen[name]
		require.False(t, dup, "%s and %s share %s", prev, p, name)
		seen[name] = p
	}
	require.Equal(t, "VIGIL_HTTP_MAX_BODY_BYTES", EnvName("http.max_body_bytes"))
	require.Equal(t, "VIGIL_PROVIDERS_0_BASE_URL", EnvName("providers[0].base_url"))
	require.Equal(t, "VIGIL_TEMPORAL_TLS_ENABLED", EnvName("temporal.tls.enabled"))
}

func TestProvenanceInMessages(t *testing.T) {
	c := Default()
	c.HTTP.MaxBodyBytes = 0
	require.EqualError(t, c.Validate(), "http.max_body_bytes: must be > 0 (default)")
}

func TestAnchorsAndMerges(t *testing.T) {
	c, err := Parse("vigil.yaml", y(
		"x-model: &m {rpm: 5, price: {input_per_mtok: 1}}",
	), nil)
	require.Error(t, err) // x-model is not a key
	require.Nil(t, c)

	c, err = Parse("vigil.yaml", y(
		"providers:",
		"  - name: a",
		"    base_url: http://a",
		"    models:",
		"      - &m {name: m, rpm: 5}",
		"  - name: b",
		"    base_url: http://b",
		"    models:",
		"      - <<: *m",
		"        rpm: 7",
	), nil)
	require.NoError(t, err)
	require.Equal(t, Model{Name: "m", RPM: 7}, c.Providers[1].Models[0])
}

func TestNullKeepsDefault(t *testing.T) {
	c, err := Parse("vigil.yaml", y("log:", "  level:", "http:", "change_tracking:", "  checkpoints:"), nil)
	require.NoError(t, err)
	require.Equal(t, *Default(), stripped(c))

	c, err = Parse("vigil.yaml", y("change_tracking:", "  checkpoints: []"), nil)
	require.NoError(t, err)
	require.Empty(t, c.ChangeTracking.Checkpoints)
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte("  s3cret\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	t.Setenv("VIGIL_TEST_SECRET", " from-env\n")
	t.Setenv("VIGIL_TEST_EMPTY", "")

	tests := []struct {
		name, env, file string
		want, err       string
	}{
		{name: "env", env: "VIGIL_TEST_SECRET", want: "from-env"},
		{name: "file", file: good, want: "s3cret"},
		{name: "env unset", env: "VIGIL_TEST_UNSET_XYZ", err: "environment variable VIGIL_TEST_UNSET_XYZ is not set"},
		{name: "env empty", env: "VIGIL_TEST_EMPTY", err: "environment variable VIGIL_TEST_EMPTY is empty"},
		{name: "file missing", file: filepath.Join(dir, "nope"), err: "secret file " + filepath.Join(dir, "nope") + " does not exist"},
		{name: "file empty", file: empty, err: "is empty"},
		{name: "both", env: "VIGIL_TEST_SECRET", file: good, err: "set only one"},
		{name: "neither", err: "no secret reference given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveSecret(tt.env, tt.file)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestConfigSecretUsesLoadEnviron(t *testing.T) {
	c, err := Load("", []string{"MY_KEY=abc"})
	require.NoError(t, err)
	got, err := c.Secret("MY_KEY", "")
	require.NoError(t, err)
	require.Equal(t, "abc", got)

	t.Setenv("VIGIL_TEST_PROCESS_ONLY", "x")
	_, err = c.Secret("VIGIL_TEST_PROCESS_ONLY", "")
	require.ErrorContains(t, err, "is not set")
	got, err = Default().Secret("VIGIL_TEST_PROCESS_ONLY", "")
	require.NoError(t, err)
	require.Equal(t, "x", got)
}

func TestCodecKeysAndCheckSecrets(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	file := y(
		"codec:",
		"  active_key: k1",
		"  keys:",
		"    - {id: k1, key_env: K1}",
		"    - {id: k2, key_env: K2}",
		"providers:",
		"  - name: p",
		"    base_url: http://x",
		"    api_key_env: P_KEY",
		"    models: [{name: m}]",
	)
	c, err := Parse("vigil.yaml", file, []string{"K1=" + key, "K2=" + key, "P_KEY=x"})
	require.NoError(t, err)
	keys, err := c.CodecKeys()
	require.NoError(t, err)
	require.Len(t, keys["k1"], 32)
	require.NoError(t, c.CheckSecrets())

	c, err = Parse("vigil.yaml", file, []string{"K1=" + short, "K2=%%%"})
	require.NoError(t, err)
	_, err = c.CodecKeys()
	require.ErrorContains(t, err, `vigil.yaml:4: codec.keys[0].key_env: key "k1" must be 32 bytes (AES-256), got 16`)
	require.ErrorContains(t, err, `vigil.yaml:5: codec.keys[1].key_env: key "k2" is not valid base64`)
	err = c.CheckSecrets()
	require.ErrorContains(t, err, "vigil.yaml:9: providers[0].api_key_env: environment variable P_KEY is not set")
	require.Len(t, Errors(err), 3)
}

func TestDatabaseURL(t *testing.T) {
	c := Default()
	u, err := c.DatabaseURL(true)
	require.NoError(t, err)
	require.Equal(t, "sqlite:"+filepath.Join(".vigil", "vigil.db"), u)
	_, err = c.DatabaseURL(false)
	require.Error(t, err)

	c, err = Load("", []string{"VIGIL_DATABASE_URL_ENV=PG", "PG=postgres://db/x"})
	require.NoError(t, err)
	require.NoError(t, c.ValidateProduction())
	u, err = c.DatabaseURL(false)
	require.NoError(t, err)
	require.Equal(t, "postgres://db/x", u)
}

func TestAPIKeyHash(t *testing.T) {
	k := APIKey{Client: "bot", Org: "acme", KeyHash: HashAPIKey("s3cret")}
	require.Len(t, k.KeyHash, 64)
	require.True(t, k.Matches("s3cret"))
	require.False(t, k.Matches("other"))
	k.KeyHash = strings.ToUpper(k.KeyHash)
	require.True(t, k.Matches("s3cret"))
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestNotify(t *testing.T) {
	// Valid combinations.
	c, err := Parse("vigil.yaml", y(
		"notify:",
		"  email:",
		"    smtp_addr: 127.0.0.1:2525",
		"    from: Vigil <vigil@example.com>",
		"    to: [a@example.com, b@example.com]",
		"  slack:",
		"    bot_token_file: /run/secrets/slack",
		"    channel: C123",
		"    api_url: http://127.0.0.1:9999/api",
		"  webhook:",
		"    url: http://hooks.internal/vigil",
		"    token_env: HOOK_TOKEN",
	), nil)
	require.NoError(t, err)
	require.Equal(t, NotifyEmail{SMTPAddr: "127.0.0.1:2525", From: "Vigil <vigil@example.com>", To: []string{"a@example.com", "b@example.com"}}, c.Notify.Email)
	require.Equal(t, NotifySlack{BotTokenFile: "/run/secrets/slack", Channel: "C123", APIURL: "http://127.0.0.1:9999/api"}, c.Notify.Slack)
	require.Equal(t, NotifyWebhook{URL: "http://hooks.internal/vigil", TokenEnv: "HOOK_TOKEN"}, c.Notify.Webhook)

	// Defaults: everything off, the public Slack API.
	require.Equal(t, Notify{Slack: NotifySlack{APIURL: "https://slack.com/api"}}, Default().Notify)

	// Environment overrides, including a comma-separated list.
	c, err = Parse("", nil, []string{
		"VIGIL_NOTIFY_EMAIL_SMTP_ADDR=smtp.example.com:587",
		"VIGIL_NOTIFY_EMAIL_FROM=vigil@example.com",
		"VIGIL_NOTIFY_EMAIL_TO=a@example.com, b@example.com,",
		"VIGIL_NOTIFY_EMAIL_STARTTLS=true",
		"VIGIL_NOTIFY_SLACK_WEBHOOK_URL_ENV=SLACK_HOOK",
		"VIGIL_NOTIFY_WEBHOOK_URL=https://x.example.com/h",
	})
	require.NoError(t, err)
	require.Equal(t, NotifyEmail{SMTPAddr: "smtp.example.com:587", From: "vigil@example.com", To: []string{"a@example.com", "b@example.com"}, StartTLS: true}, c.Notify.Email)
	require.Equal(t, "SLACK_HOOK", c.Notify.Slack.WebhookURLEnv)
	require.Equal(t, "https://x.example.com/h", c.Notify.Webhook.URL)

	// An environment variable replaces the file's other form of a setting.
	c, err = Parse("vigil.yaml", y("notify:", "  slack:", "    webhook_url_file: /run/secrets/hook"), []string{"VIGIL_NOTIFY_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T/B/X"})
	require.NoError(t, err)
	require.Equal(t, "https://hooks.slack.com/services/T/B/X", c.Notify.Slack.WebhookURL)
	require.Empty(t, c.Notify.Slack.WebhookURLFile)
	require.NotContains(t, c.Redacted(), "services/T/B/X", "a Slack webhook URL is a secret")

	// CheckSecrets resolves the notify references.
	c, err = Parse("vigil.yaml", y("notify:", "  webhook:", "    url: https://x/h", "    token_env: HOOK_TOKEN"), []string{})
	require.NoError(t, err)
	require.ErrorContains(t, c.CheckSecrets(), "vigil.yaml:4: notify.webhook.token_env: environment variable HOOK_TOKEN is not set")

	for _, u := range []string{"https://hooks.slack.com/services/x", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:1/x"} {
		require.Empty(t, CheckNotifyURL(u), u)
	}
	for _, u := range []string{"", "hooks.slack.com/x", "http://10.0.0.1/x", "ftp://localhost/x", "https:///x"} {
		require.NotEmpty(t, CheckNotifyURL(u), u)
	}
}

func TestTraces(t *testing.T) {
	// Defaults: no OTLP source, Elastic APM off with the default index.
	require.Equal(t, Traces{ElasticAPM: ElasticAPMSource{Index: "traces-apm*"}}, Default().Traces)

	c, err := Parse("example.yaml", ExampleYAML, nil)
	require.NoError(t, err)
	require.Equal(t, []OTLPSource{{Name: "tempo", URL: "http://127.0.0.1:3200/api/traces/{traceId}"}}, c.Traces.OTLP)
	require.Equal(t, ElasticAPMSource{URLs: []string{}, Index: "traces-apm*"}, normAPM(c.Traces.ElasticAPM))

	c, err = Parse("vigil.yaml", y(
		"traces:",
		"  otlp:",
		"    - name: tempo",
		"      url: http://tempo:3200/api/traces/{traceId}",
		"      token_file: /run/secrets/tempo",
		"    - name: jaeger",
		"      url: https://jaeger.example.com/api/v3/traces/{traceId}",
		"  elastic_apm:",
		"    urls: [http://es1:9200, https://es2:9200]",
		"    api_key_env: APM_KEY",
		"    index: traces-apm-default,traces-apm.rum*",
	), []string{"VIGIL_TRACES_OTLP_1_TOKEN_ENV=JAEGER_TOKEN", "VIGIL_TRACES_ELASTIC_APM_INDEX=traces-apm*"})
	require.NoError(t, err)
	require.Equal(t, []OTLPSource{
		{Name: "tempo", URL: "http://tempo:3200/api/traces/{traceId}", TokenFile: "/run/secrets/tempo"},
		{Name: "jaeger", URL: "https://jaeger.example.com/api/v3/traces/{traceId}", TokenEnv: "JAEGER_TOKEN"},
	}, c.Traces.OTLP)
	require.Equal(t, ElasticAPMSource{URLs: []string{"http://es1:9200", "https://es2:9200"}, APIKeyEnv: "APM_KEY", Index: "traces-apm*"}, c.Traces.ElasticAPM)
	require.Equal(t, "VIGIL_TRACES_OTLP_0_URL", EnvName("traces.otlp[0].url"))
	require.Contains(t, c.Redacted(), "url: http://tempo:3200/api/traces/{traceId}")

	// Secrets are checked like every other reference.
	err = c.CheckSecrets()
	require.ErrorContains(t, err, "vigil.yaml:5: traces.otlp[0].token_file: secret file /run/secrets/tempo does not exist")
	require.ErrorContains(t, err, "traces.otlp[1].token_env: environment variable JAEGER_TOKEN is not set")
	require.ErrorContains(t, err, "vigil.yaml:10: traces.elastic_apm.api_key_env: environment variable APM_KEY is not set")

	// A literal token is refused.
	_, err = Parse("vigil.yaml", y("traces:", "  otlp:", "    - name: t", "      url: http://t/{traceId}", "      token: abc"), nil)
	require.ErrorContains(t, err, "vigil.yaml:5: traces.otlp[0].token: secrets are only accepted by reference; use token_env or token_file")

	// New entries can come from the environment alone.
	c, err = Parse("", nil, []string{"VIGIL_TRACES_OTLP_0_NAME=tempo", "VIGIL_TRACES_OTLP_0_URL=http://tempo:3200/api/traces/{traceId}"})
	require.NoError(t, err)
	require.Equal(t, []OTLPSource{{Name: "tempo", URL: "http://tempo:3200/api/traces/{traceId}"}}, c.Traces.OTLP)
	_, err = Parse("", nil, []string{"VIGIL_TRACES_OTLP_0_URL=http://tempo:3200/api/traces/"})
	require.ErrorContains(t, err, "traces.otlp[0].url: must contain {traceId}")
	require.ErrorContains(t, err, "(from VIGIL_TRACES_OTLP_0_URL)")
}

// normAPM turns a nil URL list into an empty one, for comparisons.
func normAPM(a ElasticAPMSource) ElasticAPMSource {
	if a.URLs == nil {
		a.URLs = []string{}
	}
	return a
}

func TestChangeTrackingAndQueries(t *testing.T) {
	c, err := Parse("vigil.yaml", y(
		"prometheus:",
		"  url: http://prometheus:9090",
		"  queries:",
		"    - metric: latency_p95",
		"      kind: TRANSACTION",
		"      direction: higher_is_worse",
		`      promql: 'histogram_quantile(0.95, sum by (le) (rate(my_hist_bucket{app="{{app}}"}[5m]{{offset}})))'`,
		"    - metric: error_logs",
		"      disabled: true",
		"    - metric: queue_depth",
		"      kind: ISSUE",
		"      direction: lower_is_worse",
		`      promql: 'max(q{app="{{app}}"}{{offset}})'`,
		"  enrichment:",
		"    - name: top_failing_endpoints",
		"      kind: TRANSACTION",
		"      title: Top failing endpoints",
		`      promql: 'sum by (route) (increase(reqs{app="{{app}}",code=~"5.."}[{{window}}]{{offset}}))'`,
		"      limit: 5",
		"    - name: top_alerts",
		"      disabled: true",
		"change_tracking:",
		"  checkpoints: [-30m, 10m, 30m, 1h, 4h, 8h, 12h, 24h]",
		"  notify: all",
		"  applications:",
		"    - name: checkout-api",
		"      checkpoints: [-30m, 10m, 1h, 24h]",
		"    - name: batch",
		"      checkpoints: [1h]",
	), nil)
	require.NoError(t, err)
	require.Equal(t, []PrometheusQuery{
		{Metric: "latency_p95", Kind: KindTransaction, Direction: DirectionHigherIsWorse,
			PromQL: `histogram_quantile(0.95, sum by (le) (rate(my_hist_bucket{app="{{app}}"}[5m]{{offset}})))`},
		{Metric: "error_logs", Disabled: true},
		{Metric: "queue_depth", Kind: KindIssue, Direction: DirectionLowerIsWorse, PromQL: `max(q{app="{{app}}"}{{offset}})`},
	}, c.Prometheus.Queries)
	require.Equal(t, []EnrichmentQuery{
		{Name: "top_failing_endpoints", Kind: KindTransaction, Title: "Top failing endpoints",
			PromQL: `sum by (route) (increase(reqs{app="{{app}}",code=~"5.."}[{{window}}]{{offset}}))`, Limit: 5},
		{Name: "top_alerts", Disabled: true},
	}, c.Prometheus.Enrichment)
	ct := c.ChangeTracking
	require.Equal(t, NotifyAll, ct.Notify)
	require.Equal(t, []ChangeApplication{
		{Name: "checkout-api", Checkpoints: []time.Duration{-30 * time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour}},
		{Name: "batch", Checkpoints: []time.Duration{time.Hour}},
	}, ct.Applications)
	require.Equal(t, []time.Duration{time.Hour}, ct.CheckpointsFor("batch"))
	require.Equal(t, ct.Applications[0].Checkpoints, ct.CheckpointsFor("checkout-api"))
	require.Equal(t, ct.Checkpoints, ct.CheckpointsFor("Checkout-API"), "names match exactly")
	require.Equal(t, ct.Checkpoints, ct.CheckpointsFor(""))
	require.Equal(t, Default().ChangeTracking.Checkpoints, Default().ChangeTracking.CheckpointsFor("checkout-api"))

	// The keys round-trip through Redacted.
	back, err := Parse("redacted.yaml", []byte(c.Redacted()), nil)
	require.NoError(t, err)
	require.Equal(t, c.Prometheus, back.Prometheus)
	require.Equal(t, c.ChangeTracking, back.ChangeTracking)

	// Environment overrides: scalars, list entries by index, new entries.
	c, err = Parse("vigil.yaml", y(
		"prometheus:",
		"  queries:",
		"    - {metric: error_logs, disabled: true}",
		"change_tracking:",
		"  applications:",
		"    - {name: api, checkpoints: [10m]}",
	), []string{
		"VIGIL_CHANGE_TRACKING_NOTIFY=none",
		"VIGIL_PROMETHEUS_QUERIES_0_DISABLED=false",
		"VIGIL_PROMETHEUS_QUERIES_0_KIND=ISSUE",
		"VIGIL_PROMETHEUS_QUERIES_0_DIRECTION=higher_is_worse",
		`VIGIL_PROMETHEUS_QUERIES_0_PROMQL=sum(rate(logs{app="{{app}}"}[5m]{{offset}}))`,
		"VIGIL_PROMETHEUS_ENRICHMENT_0_NAME=top",
		"VIGIL_PROMETHEUS_ENRICHMENT_0_KIND=ALERT",
		`VIGIL_PROMETHEUS_ENRICHMENT_0_PROMQL=topk(3, ALERTS{app="{{app}}"}{{offset}})`,
		"VIGIL_PROMETHEUS_ENRICHMENT_0_LIMIT=3",
		"VIGIL_CHANGE_TRACKING_APPLICATIONS_0_CHECKPOINTS=-1h,1h",
		"VIGIL_CHANGE_TRACKING_APPLICATIONS_1_NAME=worker",
		"VIGIL_CHANGE_TRACKING_APPLICATIONS_1_CHECKPOINTS=30m,2h",
	})
	require.NoError(t, err)
	require.Equal(t, NotifyNone, c.ChangeTracking.Notify)
	require.Equal(t, []PrometheusQuery{{Metric: "error_logs", Kind: KindIssue, Direction: DirectionHigherIsWorse,
		PromQL: `sum(rate(logs{app="{{app}}"}[5m]{{offset}}))`}}, c.Prometheus.Queries)
	require.Equal(t, []EnrichmentQuery{{Name: "top", Kind: KindAlert, PromQL: `topk(3, ALERTS{app="{{app}}"}{{offset}})`, Limit: 3}}, c.Prometheus.Enrichment)
	require.Equal(t, []time.Duration{-time.Hour, time.Hour}, c.ChangeTracking.CheckpointsFor("api"))
	require.Equal(t, []time.Duration{30 * time.Minute, 2 * time.Hour}, c.ChangeTracking.CheckpointsFor("worker"))

	// Errors from the environment name the variable.
	_, err = Parse("", nil, []string{"VIGIL_CHANGE_TRACKING_NOTIFY=sometimes"})
	require.EqualError(t, err, `change_tracking.notify: must be one of all, not_stable, none; got "sometimes" (from VIGIL_CHANGE_TRACKING_NOTIFY)`)
	_, err = Parse("", nil, []string{"VIGIL_CHANGE_TRACKING_APPLICATIONS_0_NAME=api", "VIGIL_CHANGE_TRACKING_APPLICATIONS_0_CHECKPOINTS=1h,10m"})
	require.EqualError(t, err, "change_tracking.applications[0].checkpoints[1]: must be greater than the previous checkpoint (1h0m0s); checkpoints must be strictly increasing (from VIGIL_CHANGE_TRACKING_APPLICATIONS_0_CHECKPOINTS)")
	_, err = Parse("", nil, []string{"VIGIL_PROMETHEUS_QUERIES_0_METRIC=m", "VIGIL_PROMETHEUS_QUERIES_0_KIND=ALERT",
		"VIGIL_PROMETHEUS_QUERIES_0_DIRECTION=neutral", `VIGIL_PROMETHEUS_QUERIES_0_PROMQL=x{app="{{app}}"}`})
	require.ErrorContains(t, err, "prometheus.queries[0].promql: must contain {{offset}}")
	require.ErrorContains(t, err, "(from VIGIL_PROMETHEUS_QUERIES_0_PROMQL)")

	// A disabled entry needs only its name; its other fields are not checked.
	c, err = Parse("vigil.yaml", y(
		"prometheus:",
		"  queries:",
		"    - {metric: m, disabled: true, kind: bogus, promql: nope}",
		"  enrichment:",
		"    - {name: e, disabled: true, limit: 1000}",
	), nil)
	require.NoError(t, err)
	require.Len(t, c.Prometheus.Queries, 1)

	// Every rule is reported at once, in line order.
	_, err = Parse("vigil.yaml", y(
		"prometheus:",
		"  queries:",
		"    - metric: m", // 3
		"      kind: X",
		"      direction: Y",
		"change_tracking:",
		"  notify: loud", // 7
		"  applications:",
		"    - name: api", // 9
	), nil)
	var msgs []string
	for _, fe := range Errors(err) {
		msgs = append(msgs, fe.Error())
	}
	require.Equal(t, []string{
		"vigil.yaml:3: prometheus.queries[0].promql: required (a PromQL template containing {{app}} and {{offset}})",
		`vigil.yaml:4: prometheus.queries[0].kind: must be one of TRANSACTION, ALERT, ISSUE; got "X"`,
		`vigil.yaml:5: prometheus.queries[0].direction: must be one of higher_is_worse, lower_is_worse, neutral; got "Y"`,
		`vigil.yaml:7: change_tracking.notify: must be one of all, not_stable, none; got "loud"`,
		"vigil.yaml:9: change_tracking.applications[0].checkpoints: at least one checkpoint is required (leave the application out to use change_tracking.checkpoints)",
	}, msgs)

	// Validate on a Config built in code reports defaults.
	d := Default()
	d.ChangeTracking.Notify = ""
	require.EqualError(t, d.Validate(), `change_tracking.notify: must be one of all, not_stable, none; got "" (default)`)
}

func TestInvestigationValidation(t *testing.T) {
	c := Default()
	require.Equal(t, 6*time.Hour, c.Alerts.Investigation.LookBack)
	c.Alerts.Investigation.LookBack = -time.Hour
	c.Alerts.Investigation.Window = time.Minute
	c.Alerts.ApplicationLabel = "team-service"
	err := c.Validate()
	require.ErrorContains(t, err, "alerts.application_label")
	require.ErrorContains(t, err, "alerts.investigation.look_back")
	require.ErrorContains(t, err, "alerts.investigation.window")
}
