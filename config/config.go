package config

import (
	"github.com/vigil-ops/vigil/alertmap"
	"path/filepath"
	"time"
)

// Provider types accepted in providers[].type.
const (
	// ProviderOpenAI is an OpenAI-compatible HTTP endpoint.
	ProviderOpenAI = "openai"
	// ProviderBuiltin is the in-process provider.
	ProviderBuiltin = "builtin"
)

// BuiltinProviderName is the reserved name of the provider that always
// exists; it cannot be declared in providers.
const BuiltinProviderName = "builtin"

// Config is Vigil's complete configuration. The yaml tags are the file
// format; see example.yaml ([ExampleYAML]) for a documented instance.
type Config struct {
	// Log configures the process logger.
	Log Log `yaml:"log"`
	// DataDir is the data directory of `vigil dev` (SQLite databases, etc.).
	DataDir string `yaml:"data_dir"`
	// HTTP configures the API/webhook HTTP server.
	HTTP HTTP `yaml:"http"`
	// Temporal configures the connection to the Temporal frontend.
	Temporal Temporal `yaml:"temporal"`
	// Dev holds settings used only by `vigil dev`.
	Dev Dev `yaml:"dev"`
	// Database configures Vigil's own store.
	Database Database `yaml:"database"`
	// Prometheus is the metrics source queried by activities.
	Prometheus Prometheus `yaml:"prometheus"`
	// Alertmanager is the Alertmanager instance queried and silenced.
	Alertmanager Alertmanager `yaml:"alertmanager"`
	// Elasticsearch is the log/event store.
	Elasticsearch Elasticsearch `yaml:"elasticsearch"`
	// Codec holds the payload encryption keys for Temporal payloads.
	Codec Codec `yaml:"codec"`
	// Auth lists the credentials accepted by the HTTP API and webhooks.
	Auth Auth `yaml:"auth"`
	// Providers lists the LLM providers. The provider named "builtin"
	// always exists and must not be listed.
	Providers []Provider `yaml:"providers"`
	// RolesDir is an optional directory of role YAML files loaded at start.
	RolesDir string `yaml:"roles_dir"`
	// Gateway tunes the role gateway's synchronous path (POST /v1/roles/{code}/invoke).
	Gateway Gateway `yaml:"gateway"`
	// Alerts configures how alert webhooks become incidents.
	Alerts Alerts `yaml:"alerts"`
	// ChangeTracking configures the follow-up checkpoints after a change.
	ChangeTracking ChangeTracking `yaml:"change_tracking"`
	// OnCall configures the AI on-call: who is paged, by phone, for which incidents.
	OnCall OnCall `yaml:"oncall"`
	// Twilio places the on-call's phone calls.
	Twilio Twilio `yaml:"twilio"`
	// CodeTuning configures the nightly code-tuning agent.
	CodeTuning CodeTuning `yaml:"code_tuning"`
	// Notify configures outgoing notifications.
	Notify Notify `yaml:"notify"`
	// Traces configures where the transaction profile (trace) behind an
	// alert that carries only a trace ID is fetched from.
	Traces Traces `yaml:"traces"`

	meta *meta // provenance of values; nil for a Config built in code
}

// Gateway tunes the synchronous role gateway.
type Gateway struct {
	// BatchInterval is how long the usage log gathers records before one group commit to the
	// store (default 5ms); a crash loses at most about this much of the log.
	BatchInterval time.Duration `yaml:"batch_interval"`
	// RoleCacheTTL is how long a role's version is served from memory before the store is read
	// again (default 2s): changes through another replica take effect within it.
	RoleCacheTTL time.Duration `yaml:"role_cache_ttl"`
	// MaxWait bounds the waits of one invoke (retry backoff, Retry-After, the model's budget);
	// a longer wait moves on to the next link (default 30s).
	MaxWait time.Duration `yaml:"max_wait"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is text or json; production deployments should use json.
	Format string `yaml:"format"`
}

// HTTP configures the HTTP server.
type HTTP struct {
	// Address is the listen address, host:port (host may be empty).
	Address string `yaml:"address"`
	// MaxBodyBytes is the largest accepted request body; must be > 0.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReadTimeout bounds reading a whole request; must be > 0.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response; must be > 0.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// PublicURL is the externally visible base URL used in links in
	// notifications; optional, absolute http(s) when set.
	PublicURL string `yaml:"public_url"`
	// AllowedHosts are the Host names (without port) requests may carry, the defence against
	// DNS rebinding. Empty: the host of PublicURL, the host of Address when it names one, and
	// the loopback names (localhost, 127.0.0.1, ::1). "*" allows any host (behind a proxy
	// that checks it).
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// Temporal configures the Temporal client.
type Temporal struct {
	// Address is the frontend host:port.
	Address string `yaml:"address"`
	// Namespace is the Temporal namespace.
	Namespace string `yaml:"namespace"`
	// TaskQueue is the task queue Vigil's workers poll.
	TaskQueue string `yaml:"task_queue"`
	// TLS configures transport security to the frontend.
	TLS TLS `yaml:"tls"`
	// APIKeyEnv names the environment variable holding the Temporal Cloud
	// API key.
	APIKeyEnv string `yaml:"api_key_env"`
	// APIKeyFile is the path of a file holding the Temporal Cloud API key.
	APIKeyFile string `yaml:"api_key_file"`
}

// TLS configures a TLS client connection.
type TLS struct {
	// Enabled turns TLS on.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile is the PEM client certificate for mTLS (with KeyFile).
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key for mTLS (with CertFile).
	KeyFile string `yaml:"key_file"`
	// ServerName overrides the name checked in the server certificate.
	ServerName string `yaml:"server_name"`
}

// Dev holds settings used only by `vigil dev`.
type Dev struct {
	// UIAddress is the listen address of the embedded Temporal UI.
	UIAddress string `yaml:"ui_address"`
	// TemporalDB is the SQLite file of the embedded Temporal server;
	// empty means <data_dir>/temporal.db (see [Config.DevTemporalDB]).
	TemporalDB string `yaml:"temporal_db"`
}

// Database configures Vigil's store. At most one of URL, URLEnv and URLFile
// may be set. Empty in `vigil dev` means sqlite:<data_dir>/vigil.db; `vigil
// server` and `vigil worker` require one (see [Config.ValidateProduction]).
type Database struct {
	// URL is postgres://..., postgresql://... or sqlite:PATH.
	URL string `yaml:"url"`
	// URLEnv names an environment variable holding the URL.
	URLEnv string `yaml:"url_env"`
	// URLFile is the path of a file holding the URL.
	URLFile string `yaml:"url_file"`
}

// Prometheus locates the Prometheus HTTP API and adjusts the PromQL
// templates change tracking runs against it.
type Prometheus struct {
	// URL is optional; when set it must be an absolute http(s) URL.
	URL string `yaml:"url"`
	// ScrapeInterval is how often Prometheus scrapes the applications' metrics; rate windows
	// ({{rate_interval}}) are at least four of it. 0 (the default) detects it from the
	// Prometheus's configuration (/api/v1/status/config) or the spacing of its samples.
	ScrapeInterval time.Duration `yaml:"scrape_interval"`
	// Queries adjust the built-in health metric templates: an entry with
	// the name of a built-in metric replaces it, an entry with a new name
	// adds a metric, and a disabled entry removes the built-in metric of
	// its name. Metric names are unique.
	Queries []PrometheusQuery `yaml:"queries"`
	// Enrichment adjusts the built-in enrichment templates (run for each
	// metric kind a verdict names) with the same rules, by Name.
	Enrichment []EnrichmentQuery `yaml:"enrichment"`
}

// Metric kinds accepted in prometheus.queries[].kind and
// prometheus.enrichment[].kind: the kinds a change-tracking verdict names.
const (
	// KindTransaction covers request metrics (throughput, errors, latency).
	KindTransaction = "TRANSACTION"
	// KindAlert covers firing alerts.
	KindAlert = "ALERT"
	// KindIssue covers error logs and other issues.
	KindIssue = "ISSUE"
)

// Directions accepted in prometheus.queries[].direction: which way a
// metric's change is a regression.
const (
	// DirectionHigherIsWorse marks metrics whose rise is a regression
	// (errors, latency).
	DirectionHigherIsWorse = "higher_is_worse"
	// DirectionLowerIsWorse marks metrics whose fall is a regression.
	DirectionLowerIsWorse = "lower_is_worse"
	// DirectionNeutral marks metrics reported without a judgement
	// (throughput).
	DirectionNeutral = "neutral"
)

// Placeholders of the PromQL templates in prometheus.queries and
// prometheus.enrichment. Both are required in every template.
const (
	// PlaceholderApp is replaced by the application's name.
	PlaceholderApp = "{{app}}"
	// PlaceholderOffset is replaced by "" or an " offset <d>" modifier for
	// the baselines; it follows each selector's range, e.g. [5m]{{offset}}.
	PlaceholderOffset = "{{offset}}"
)

// MaxEnrichmentLimit is the largest prometheus.enrichment[].limit.
const MaxEnrichmentLimit = 100

// PrometheusQuery is one health metric's PromQL template
// (prometheus.queries[]).
type PrometheusQuery struct {
	// Metric names the metric (e.g. latency_p95); required and unique.
	Metric string `yaml:"metric"`
	// Kind is TRANSACTION, ALERT or ISSUE.
	Kind string `yaml:"kind"`
	// Direction is higher_is_worse, lower_is_worse or neutral.
	Direction string `yaml:"direction"`
	// PromQL is the query template; it must contain {{app}} and {{offset}}
	// and may contain {{rate_interval}} (the rate window for the scrape
	// interval). A range written into it must be at least four scrape
	// intervals.
	PromQL string `yaml:"promql"`
	// MinRelChange is the smallest relative change of the median that is
	// material (e.g. 0.2 = 20 %); 0 means the engine's default (20 %).
	MinRelChange float64 `yaml:"min_rel_change"`
	// MinAbsChange is the smallest absolute change of the median, in the
	// metric's unit, that is material; 0 means none.
	MinAbsChange float64 `yaml:"min_abs_change"`
	// Disabled removes the built-in metric of this name; the other fields
	// are then ignored.
	Disabled bool `yaml:"disabled"`
}

// EnrichmentQuery is one enrichment PromQL template
// (prometheus.enrichment[]).
type EnrichmentQuery struct {
	// Name identifies the template; required and unique.
	Name string `yaml:"name"`
	// Kind is the metric kind whose verdicts run it: TRANSACTION, ALERT or
	// ISSUE.
	Kind string `yaml:"kind"`
	// Title heads the result in reports (optional).
	Title string `yaml:"title"`
	// PromQL is the query template; it must contain {{app}} and {{offset}}
	// and may contain {{window}}.
	PromQL string `yaml:"promql"`
	// Limit caps the number of series reported, 0..100; 0 means the
	// default.
	Limit int `yaml:"limit"`
	// Disabled removes the built-in template of this name; the other fields
	// are then ignored.
	Disabled bool `yaml:"disabled"`
}

// Alertmanager locates the Alertmanager HTTP API.
type Alertmanager struct {
	// URL is optional; when set it must be an absolute http(s) URL.
	URL string `yaml:"url"`
	// ApplicationLabel is the alert label that names the application (default
	// "application"): change tracking reads an application's alerts by it.
	ApplicationLabel string `yaml:"application_label"`
}

// Elasticsearch locates the Elasticsearch cluster.
type Elasticsearch struct {
	// URLs are the cluster nodes, each an absolute http(s) URL.
	URLs []string `yaml:"urls"`
	// APIKeyEnv names the environment variable holding the API key.
	APIKeyEnv string `yaml:"api_key_env"`
	// APIKeyFile is the path of a file holding the API key.
	APIKeyFile string `yaml:"api_key_file"`
	// IndexPrefix prefixes every index Vigil writes (lowercase).
	IndexPrefix string `yaml:"index_prefix"`
}

// Codec holds the AES-GCM keys used to encrypt Temporal payloads.
type Codec struct {
	// ActiveKey is the ID of the key used for encryption; it must name one
	// of Keys when Keys is non-empty. Other keys are kept for decryption.
	ActiveKey string `yaml:"active_key"`
	// Keys are the known keys; see [Config.CodecKeys] to resolve them.
	Keys []CodecKey `yaml:"keys"`
}

// CodecKey is one payload encryption key, 32 bytes encoded in base64,
// given by reference (exactly one of KeyEnv and KeyFile).
type CodecKey struct {
	// ID identifies the key in encrypted payloads' metadata.
	ID string `yaml:"id"`
	// KeyEnv names the environment variable holding the key.
	KeyEnv string `yaml:"key_env"`
	// KeyFile is the path of a file holding the key.
	KeyFile string `yaml:"key_file"`
}

// Auth lists the credentials accepted by the HTTP server.
type Auth struct {
	// APIKeys are the API clients; only hashes of their keys are stored.
	APIKeys []APIKey `yaml:"api_keys"`
	// WebhookTokens are bearer tokens accepted on webhook endpoints.
	WebhookTokens []WebhookToken `yaml:"webhook_tokens"`
	// HMACSecrets are shared secrets for Vigil's HMAC-signed webhooks (X-Vigil-Signature).
	HMACSecrets []HMACSecret `yaml:"hmac_secrets"`
	// GitHubSecrets verify GitHub's webhook signatures (X-Hub-Signature-256) on
	// /v1/deployments/github. They are separate from HMACSecrets: GitHub's scheme signs the
	// body without a timestamp, so a secret of one scheme never verifies the other's requests.
	GitHubSecrets []HMACSecret `yaml:"github_secrets"`
}

// APIKey is one API client.
type APIKey struct {
	// Client names the client (for logs and audit).
	Client string `yaml:"client"`
	// Org is the organisation the client acts for.
	Org string `yaml:"org"`
	// KeyHash is the SHA-256 of the key as 64 hex characters
	// (see [HashAPIKey] and [APIKey.Matches]).
	KeyHash string `yaml:"key_hash"`
}

// WebhookToken is a named bearer token, given by reference (exactly one of
// TokenEnv and TokenFile).
type WebhookToken struct {
	// Name identifies the webhook (e.g. alertmanager).
	Name string `yaml:"name"`
	// TokenEnv names the environment variable holding the token.
	TokenEnv string `yaml:"token_env"`
	// TokenFile is the path of a file holding the token.
	TokenFile string `yaml:"token_file"`
}

// HMACSecret is a named HMAC secret, given by reference (exactly one of
// SecretEnv and SecretFile).
type HMACSecret struct {
	// Name identifies the sender (e.g. apm).
	Name string `yaml:"name"`
	// SecretEnv names the environment variable holding the secret.
	SecretEnv string `yaml:"secret_env"`
	// SecretFile is the path of a file holding the secret.
	SecretFile string `yaml:"secret_file"`
}

// Provider is one LLM provider.
type Provider struct {
	// Name is unique, matches [a-z0-9-]+ and is not "builtin".
	Name string `yaml:"name"`
	// Type is openai (default) or builtin.
	Type string `yaml:"type"`
	// BaseURL is the API base URL; required for openai, absolute http(s).
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the API key.
	APIKeyEnv string `yaml:"api_key_env"`
	// APIKeyFile is the path of a file holding the API key.
	APIKeyFile string `yaml:"api_key_file"`
	// Timeout bounds one request; default 60s.
	Timeout time.Duration `yaml:"timeout"`
	// Models are the models offered; at least one for openai.
	Models []Model `yaml:"models"`
}

// Model is one model of a provider.
type Model struct {
	// Name is required and unique within the provider.
	Name string `yaml:"name"`
	// RPM is the request-per-minute limit; 0 means unlimited.
	RPM int `yaml:"rpm"`
	// Price is used for cost accounting.
	Price Price `yaml:"price"`
}

// Price is a model's price in currency units per million tokens.
type Price struct {
	// InputPerMTok is the price of one million input tokens; >= 0.
	InputPerMTok float64 `yaml:"input_per_mtok"`
	// OutputPerMTok is the price of one million output tokens; >= 0.
	OutputPerMTok float64 `yaml:"output_per_mtok"`
}

// Alerts configures alert-group incidents (Alertmanager, Grafana).
type Alerts struct {
	// GroupWindow is how long the alerts of one group are collected before the investigation
	// starts (> 0).
	GroupWindow time.Duration `yaml:"group_window"`
	// IncidentLifetime is how long a group's incident stays open, folding later alerts of the
	// group and waiting for their resolution (> 0).
	IncidentLifetime time.Duration `yaml:"incident_lifetime"`
	// ApplicationLabel is the label of Alertmanager and Grafana alerts that names the application;
	// it is tried first, then application, service, service_name, app and job.
	ApplicationLabel string `yaml:"application_label"`
	// Investigation tunes what Vigil gathers about an alert's application before its report.
	Investigation Investigation `yaml:"investigation"`
	// Sources are the named alert sources of POST /v1/alerts/{source}, each verified its own way;
	// a source whose secret is not set is not served.
	Sources AlertSources `yaml:"sources"`
}

// Investigation tunes the investigation of an alert's application: its recent deployments and
// its metrics against the 1 d and 1 w baselines.
type Investigation struct {
	// Disabled skips it: the report rests on the alert's profile alone.
	Disabled bool `yaml:"disabled"`
	// LookBack is how far before the alert Vigil's deployment records are read (default 6h).
	LookBack time.Duration `yaml:"look_back"`
	// Window is how much before the alert's start (and at most after it) the metrics are
	// compared with their baselines (default 30m).
	Window time.Duration `yaml:"window"`
	// GitHub adds the GitHub deployments of each application's repository to its recent changes.
	GitHub InvestigationGitHub `yaml:"github"`
}

// InvestigationGitHub names the GitHub repository of applications whose GitHub deployments
// (GET /repos/{owner}/{repo}/deployments) the investigation reads besides Vigil's records.
type InvestigationGitHub struct {
	// Repositories map applications to their repositories; none: GitHub is not asked.
	Repositories []GitHubRepository `yaml:"repositories"`
	// Environment restricts the deployments to one GitHub environment ("": every environment).
	Environment string `yaml:"environment"`
	// TokenEnv or TokenFile give a token that can read deployments; both empty:
	// code_tuning.github's token.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// APIURL replaces https://api.github.com/ (GitHub Enterprise, tests); empty:
	// code_tuning.github.api_url, else GitHub's.
	APIURL string `yaml:"api_url"`
}

// GitHubRepository is the GitHub repository (owner/name) of an application.
type GitHubRepository struct {
	Application string `yaml:"application"`
	Repository  string `yaml:"repository"`
}

// InvestigationGitHubAccess is the token reference and API URL the investigation reads GitHub
// with: its own, else code_tuning.github's.
func (c *Config) InvestigationGitHubAccess() GitHubAccess {
	g := c.Alerts.Investigation.GitHub
	acc := GitHubAccess{TokenEnv: g.TokenEnv, TokenFile: g.TokenFile, APIURL: g.APIURL}
	if acc.TokenEnv == "" && acc.TokenFile == "" {
		acc.TokenEnv, acc.TokenFile = c.CodeTuning.GitHub.TokenEnv, c.CodeTuning.GitHub.TokenFile
	}
	if acc.APIURL == "" {
		acc.APIURL = c.CodeTuning.GitHub.APIURL
	}
	return acc
}

// AlertSources configures the built-in alert sources.
type AlertSources struct {
	// Sentry verifies Sentry's integration webhooks (Sentry-Hook-Signature) with the internal
	// integration's client secret.
	Sentry SentrySource `yaml:"sentry"`
	// Datadog and Kibana verify a shared token the sender puts in its Authorization header.
	Datadog TokenSource `yaml:"datadog"`
	Kibana  TokenSource `yaml:"kibana"`
	// Generic are sources defined here: a token and a CEL mapping from their JSON body onto the
	// alert model (package alertmap).
	Generic []GenericSource `yaml:"generic"`
}

// GenericSource is an alert source defined in the configuration, served at
// POST /v1/alerts/<name>. Each mapping key is a CEL expression over `body`, the request's JSON
// (see alertmap.Spec); rule, message and application are required.
type GenericSource struct {
	// Name is the path segment; [a-z0-9-]+, not a built-in source's name.
	Name string `yaml:"name"`
	// TokenEnv / TokenFile: the token the sender puts in "Authorization: Bearer <token>" (or as
	// the password of HTTP basic authentication).
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`

	Group       string `yaml:"group"`
	Resolved    string `yaml:"resolved"`
	Rule        string `yaml:"rule"`
	Message     string `yaml:"message"`
	Severity    string `yaml:"severity"`
	Application string `yaml:"application"`
	Instance    string `yaml:"instance"`
	Fingerprint string `yaml:"fingerprint"`
	StartsAt    string `yaml:"starts_at"`
	TraceID     string `yaml:"trace_id"`
	Labels      string `yaml:"labels"`
	Values      string `yaml:"values"`
	ValueString string `yaml:"value_string"`
	Links       string `yaml:"links"`
}

// Spec is the source's mapping.
func (g GenericSource) Spec() alertmap.Spec {
	return alertmap.Spec{Group: g.Group, Resolved: g.Resolved, Rule: g.Rule, Message: g.Message, Severity: g.Severity,
		Application: g.Application, Instance: g.Instance, Fingerprint: g.Fingerprint, StartsAt: g.StartsAt,
		TraceID: g.TraceID, Labels: g.Labels, Values: g.Values, ValueString: g.ValueString, Links: g.Links}
}

// GenericSource returns the generic source of that name.
func (c *Config) GenericSource(name string) (GenericSource, bool) {
	for _, g := range c.Alerts.Sources.Generic {
		if g.Name == name {
			return g, true
		}
	}
	return GenericSource{}, false
}

// SentrySource is Sentry's internal integration, its client secret given by reference.
type SentrySource struct {
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
}

// Enabled reports whether the source is configured.
func (s SentrySource) Enabled() bool { return s.ClientSecretEnv != "" || s.ClientSecretFile != "" }

// TokenSource is a source that sends "Authorization: Bearer <token>", the token given by
// reference.
type TokenSource struct {
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
}

// Enabled reports whether the source is configured.
func (s TokenSource) Enabled() bool { return s.TokenEnv != "" || s.TokenFile != "" }

// Values of change_tracking.notify.
const (
	// NotifyAll notifies the result of every checkpoint.
	NotifyAll = "all"
	// NotifyNotStable notifies only checkpoints whose verdict is not
	// stable (the default).
	NotifyNotStable = "not_stable"
	// NotifyNone sends no change-tracking notifications.
	NotifyNone = "none"
)

// ChangeTracking configures change follow-up.
type ChangeTracking struct {
	// Checkpoints are offsets from a change at which its effect is
	// checked; strictly increasing, at most one negative (a baseline
	// before the change).
	Checkpoints []time.Duration `yaml:"checkpoints"`
	// Notify selects which checkpoint results are notified: all,
	// not_stable (default) or none.
	Notify string `yaml:"notify"`
	// Applications give applications their own checkpoint schedules, by
	// application name; see [ChangeTracking.CheckpointsFor].
	Applications []ChangeApplication `yaml:"applications"`
}

// ChangeApplication is one application's checkpoint schedule
// (change_tracking.applications[]).
type ChangeApplication struct {
	// Name is the application's name; required and unique.
	Name string `yaml:"name"`
	// Checkpoints replace change_tracking.checkpoints for the application;
	// at least one, with the same rules.
	Checkpoints []time.Duration `yaml:"checkpoints"`
}

// CheckpointsFor returns the checkpoint schedule of the application named
// app: its change_tracking.applications entry's, or the global
// change_tracking.checkpoints. The result shares the configuration's
// storage and must not be modified.
func (c ChangeTracking) CheckpointsFor(app string) []time.Duration {
	for _, a := range c.Applications {
		if a.Name == app {
			return a.Checkpoints
		}
	}
	return c.Checkpoints
}

// Notify configures the delivery of incident reports to people. Each
// channel is off while its main setting is empty.
type Notify struct {
	// Email delivers reports over SMTP.
	Email NotifyEmail `yaml:"email"`
	// Slack delivers reports to Slack.
	Slack NotifySlack `yaml:"slack"`
	// Webhook POSTs reports as JSON to a URL.
	Webhook NotifyWebhook `yaml:"webhook"`
}

// NotifyEmail configures e-mail delivery through an SMTP relay.
type NotifyEmail struct {
	// SMTPAddr is the relay host:port; empty disables e-mail.
	SMTPAddr string `yaml:"smtp_addr"`
	// From is the sender address; required with SMTPAddr.
	From string `yaml:"from"`
	// To are the recipients; at least one with SMTPAddr.
	To []string `yaml:"to"`
	// Username is the login, if the relay requires authentication.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// PasswordFile is the path of a file holding the password.
	PasswordFile string `yaml:"password_file"`
	// StartTLS upgrades the connection with STARTTLS before sending
	// (required by most public relays).
	StartTLS bool `yaml:"starttls"`
}

// NotifySlack configures Slack delivery: an incoming webhook (WebhookURL
// in one of its forms), or chat.postMessage with a bot token into Channel.
type NotifySlack struct {
	// WebhookURL is the incoming-webhook URL (absolute https; http only
	// for 127.0.0.1 or localhost).
	WebhookURL string `yaml:"webhook_url"`
	// WebhookURLEnv names the environment variable holding that URL.
	WebhookURLEnv string `yaml:"webhook_url_env"`
	// WebhookURLFile is the path of a file holding that URL.
	WebhookURLFile string `yaml:"webhook_url_file"`
	// BotTokenEnv names the environment variable holding a bot token.
	BotTokenEnv string `yaml:"bot_token_env"`
	// BotTokenFile is the path of a file holding a bot token.
	BotTokenFile string `yaml:"bot_token_file"`
	// Channel is the channel chat.postMessage posts into; required with a
	// bot token.
	Channel string `yaml:"channel"`
	// APIURL is the base URL of the Slack Web API.
	APIURL string `yaml:"api_url"`
}

// NotifyWebhook configures a generic webhook: a JSON POST per incident.
type NotifyWebhook struct {
	// URL receives the POST; empty disables the webhook.
	URL string `yaml:"url"`
	// TokenEnv names the environment variable holding an optional bearer
	// token.
	TokenEnv string `yaml:"token_env"`
	// TokenFile is the path of a file holding that token.
	TokenFile string `yaml:"token_file"`
}

// Traces lists the trace sources, tried in order: the OTLP-JSON trace APIs
// first, then Elastic APM.
type Traces struct {
	// OTLP are OTLP-JSON trace APIs (Grafana Tempo, Jaeger v2).
	OTLP []OTLPSource `yaml:"otlp"`
	// ElasticAPM reads Elastic APM documents from Elasticsearch.
	ElasticAPM ElasticAPMSource `yaml:"elastic_apm"`
}

// OTLPSource is one OTLP-JSON trace API.
type OTLPSource struct {
	// Name is unique among traces.otlp.
	Name string `yaml:"name"`
	// URL is an absolute http(s) URL containing {traceId}, which is
	// replaced by the trace ID, e.g.
	// http://tempo:3200/api/traces/{traceId} or
	// http://jaeger:16686/api/v3/traces/{traceId}.
	URL string `yaml:"url"`
	// TokenEnv names the environment variable holding an optional bearer
	// token.
	TokenEnv string `yaml:"token_env"`
	// TokenFile is the path of a file holding that token.
	TokenFile string `yaml:"token_file"`
}

// ElasticAPMSource locates Elastic APM data in Elasticsearch.
type ElasticAPMSource struct {
	// URLs are the Elasticsearch nodes, each an absolute http(s) URL;
	// empty disables the source.
	URLs []string `yaml:"urls"`
	// APIKeyEnv names the environment variable holding the API key.
	APIKeyEnv string `yaml:"api_key_env"`
	// APIKeyFile is the path of a file holding the API key.
	APIKeyFile string `yaml:"api_key_file"`
	// Index is the index pattern searched (default traces-apm*).
	Index string `yaml:"index"`
}

// DefaultAPMIndex is the default traces.elastic_apm.index.
const DefaultAPMIndex = "traces-apm*"

// SlackAPIURL is the default notify.slack.api_url.
const SlackAPIURL = "https://slack.com/api"

// Default returns the embedded defaults. They are valid for `vigil dev`.
func Default() *Config {
	return &Config{
		Log:     Log{Level: "info", Format: "text"},
		DataDir: ".vigil",
		HTTP: HTTP{
			Address:      "127.0.0.1:8080",
			MaxBodyBytes: 1 << 20,
			ReadTimeout:  30 * time.Second,
			WriteTimeout: 60 * time.Second,
		},
		Temporal: Temporal{
			Address:   "127.0.0.1:7233",
			Namespace: "default",
			TaskQueue: "vigil",
		},
		Dev:           Dev{UIAddress: "127.0.0.1:8233"},
		Elasticsearch: Elasticsearch{IndexPrefix: "vigil"},
		Gateway:       Gateway{BatchInterval: 5 * time.Millisecond, RoleCacheTTL: 2 * time.Second, MaxWait: 30 * time.Second},
		Notify:        Notify{Slack: NotifySlack{APIURL: SlackAPIURL}},
		Traces:        Traces{ElasticAPM: ElasticAPMSource{Index: DefaultAPMIndex}},
		Alerts: Alerts{GroupWindow: 10 * time.Second, IncidentLifetime: 24 * time.Hour,
			Investigation: Investigation{LookBack: 6 * time.Hour, Window: 30 * time.Minute,
				GitHub: InvestigationGitHub{Repositories: []GitHubRepository{}}},
			Sources: AlertSources{Generic: []GenericSource{}}},
		ChangeTracking: ChangeTracking{
			Checkpoints: []time.Duration{
				-30 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
				4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour,
			},
			Notify: NotifyNotStable,
		},
		OnCall:     OnCall{Severities: []string{"critical"}, AckTimeout: 5 * time.Minute, Rounds: 2},
		CodeTuning: CodeTuning{BaseBranch: "main", Schedule: "0 2 * * *", MaxProblems: 3},
	}
}

// DevTemporalDB returns dev.temporal_db, or <data_dir>/temporal.db when it
// is empty.
func (c *Config) DevTemporalDB() string {
	if c.Dev.TemporalDB != "" {
		return c.Dev.TemporalDB
	}
	return filepath.Join(c.DataDir, "temporal.db")
}

// OnCall configures paging: an incident of a listed severity goes to the role oncall-triager,
// which decides whether to page and writes the message; the people in charge of the incident's
// application are called in order until one acknowledges.
type OnCall struct {
	// Severities are the incident severities the on-call considers (default [critical]).
	Severities []string `yaml:"severities"`
	// AckTimeout is how long each person has to acknowledge before the next is called (> 0).
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// Rounds is how many times the rota is walked before giving up (1..5).
	Rounds int `yaml:"rounds"`
	// Rota lists who is in charge of what, in escalation order; application "*" covers the
	// applications no other entry names. An empty rota turns paging off.
	Rota []RotaEntry `yaml:"rota,omitempty"`
}

// RotaEntry is the escalation order of one application.
type RotaEntry struct {
	Application string   `yaml:"application"`
	People      []Person `yaml:"people"`
}

// Person is someone who can be paged.
type Person struct {
	Name  string `yaml:"name"`
	Phone string `yaml:"phone"` // E.164, e.g. "+15551230001"
}

// PeopleFor returns the escalation order for app: its own entry, else the "*" entry.
func (o OnCall) PeopleFor(app string) []Person {
	var star []Person
	for _, e := range o.Rota {
		if e.Application == app {
			return e.People
		}
		if e.Application == "*" {
			star = e.People
		}
	}
	return star
}

// Twilio configures the phone calls of the on-call (Programmable Voice).
type Twilio struct {
	// AccountSID is the account ("AC…"); empty turns phone calls off.
	AccountSID string `yaml:"account_sid"`
	// AuthTokenEnv / AuthTokenFile give the auth token by reference.
	AuthTokenEnv  string `yaml:"auth_token_env"`
	AuthTokenFile string `yaml:"auth_token_file"`
	// From is the caller ID, E.164.
	From string `yaml:"from"`
	// BaseURL replaces Twilio's API address (tests, regional edges).
	BaseURL string `yaml:"base_url"`
	// Language of the text-to-speech voice (default en-US).
	Language string `yaml:"language"`
}

// CodeTuning configures the nightly agent that opens pull requests fixing the worst errors and
// slow spots; empty repository turns it off.
type CodeTuning struct {
	// Repository is the GitHub repository, owner/name.
	Repository string `yaml:"repository"`
	// BaseBranch is the preset branch the code is read from and pull requests target.
	BaseBranch string `yaml:"base_branch"`
	// Schedule is the run's cron expression (UTC), "0 2 * * *" by default.
	Schedule string `yaml:"schedule"`
	// MaxProblems is how many problems one run works on (1..10).
	MaxProblems int `yaml:"max_problems"`
	// GitHub is the access to the repository.
	GitHub GitHubAccess `yaml:"github"`
}

// GitHubAccess is a GitHub token by reference and the API address.
type GitHubAccess struct {
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// APIURL replaces https://api.github.com/ (GitHub Enterprise, tests).
	APIURL string `yaml:"api_url"`
}
