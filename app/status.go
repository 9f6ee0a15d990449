package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/gateway"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/notify"
	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/tracesource"
)

// Probe cadence of the dependency status view.
const (
	probeInterval = time.Minute
	probeTimeout  = 3 * time.Second
)

// depClient is the HTTP client of one tracked dependency: its requests are recorded.
func depClient(d *depstatus.Dep, timeout time.Duration) *http.Client {
	if d == nil {
		return &http.Client{Timeout: timeout}
	}
	return d.Client(timeout)
}

// registerDeps registers every configured integration with a light probe: an HTTP GET where a
// read-only endpoint exists (Prometheus, Alertmanager, Elasticsearch, an LLM provider's model
// list), a TCP connection otherwise (SMTP, chat webhooks, trace sources, Twilio, GitHub).
func registerDeps(cfg *config.Config, reg *depstatus.Registry) {
	probeClient := &http.Client{Timeout: probeTimeout}
	httpDep := func(name, kind, key, base, path string) {
		reg.Add(name, kind, key, depstatus.HTTPProbe(probeClient, strings.TrimSuffix(base, "/")+path))
	}
	dialDep := func(name, kind, key, rawURL string) {
		var probe func(context.Context) error
		if hp, ok := depstatus.HostPort(rawURL); ok {
			probe = depstatus.DialProbe(hp)
		}
		reg.Add(name, kind, key, probe)
	}
	if cfg.Prometheus.URL != "" {
		httpDep("prometheus", "prometheus", "prometheus.url", cfg.Prometheus.URL, "/api/v1/query?query=vector(1)")
	}
	if cfg.Alertmanager.URL != "" {
		httpDep("alertmanager", "alertmanager", "alertmanager.url", cfg.Alertmanager.URL, "/api/v2/status")
	}
	if len(cfg.Elasticsearch.URLs) > 0 {
		httpDep("elasticsearch", "elasticsearch", "elasticsearch.urls", cfg.Elasticsearch.URLs[0], "/")
	}
	for _, o := range cfg.Traces.OTLP {
		dialDep("traces:"+o.Name, "traces", "traces.otlp", strings.ReplaceAll(o.URL, "{traceId}", "x"))
	}
	if len(cfg.Traces.ElasticAPM.URLs) > 0 {
		httpDep("traces:elastic_apm", "traces", "traces.elastic_apm.urls", cfg.Traces.ElasticAPM.URLs[0], "/")
	}
	if e := cfg.Notify.Email; e.SMTPAddr != "" {
		reg.Add("notify:email", "notify", "notify.email.smtp_addr", depstatus.DialProbe(e.SMTPAddr))
	}
	if s := cfg.Notify.Slack; s.WebhookURL != "" || s.WebhookURLEnv != "" || s.WebhookURLFile != "" {
		u := s.WebhookURL
		if u == "" {
			u, _ = cfg.Secret(s.WebhookURLEnv, s.WebhookURLFile)
		}
		dialDep("notify:slack", "notify", "notify.slack.webhook_url", u)
	} else if s.BotTokenEnv != "" || s.BotTokenFile != "" {
		dialDep("notify:slack", "notify", "notify.slack.api_url", s.APIURL)
	}
	if cfg.Notify.Webhook.URL != "" {
		dialDep("notify:webhook", "notify", "notify.webhook.url", cfg.Notify.Webhook.URL)
	}
	for i, p := range cfg.Providers {
		if p.Type != "" && p.Type != config.ProviderOpenAI {
			continue
		}
		key := "providers[" + itoa(i) + "].base_url"
		reg.Add("llm:"+p.Name, "llm", key, depstatus.HTTPProbe(probeClient, strings.TrimSuffix(p.BaseURL, "/")+"/models"))
		for _, m := range p.Models {
			reg.Add("llm:"+p.Name+"/"+m.Name, "llm", key, nil)
		}
	}
	if cfg.Twilio.AccountSID != "" {
		base := cfg.Twilio.BaseURL
		if base == "" {
			base = "https://api.twilio.com"
		}
		dialDep("twilio", "twilio", "twilio.base_url", base)
	}
	if cfg.CodeTuning.Repository != "" {
		base := cfg.CodeTuning.GitHub.APIURL
		if base == "" {
			base = "https://api.github.com/"
		}
		dialDep("github", "github", "code_tuning.github.api_url", base)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// trackActivities records the worker's real traffic: notify channels and trace sources report
// each result to their dependency (the phone: wireOnCall; GitHub: wireTuning).
func trackActivities(reg *depstatus.Registry, dv *activities.Delivery, inc *activities.Incident) {
	for i, ch := range dv.Channels {
		dv.Channels[i] = statusChannel{Channel: ch, dep: reg.Add("notify:"+ch.Name(), "notify", "notify."+ch.Name(), nil)}
	}
	for i, src := range inc.Traces {
		inc.Traces[i] = statusSource{Source: src, dep: reg.Add("traces:"+src.Name(), "traces", "traces", nil)}
	}
}

// trackProviders records every configured LLM provider's results (not the built-in analyst's).
func trackProviders(reg *depstatus.Registry, providers *llm.Registry) {
	for _, name := range providers.Names() {
		p, err := providers.Get(name)
		if err != nil {
			continue
		}
		if _, isBuiltin := p.(*llm.Builtin); isBuiltin {
			continue
		}
		providers.Register(name, statusProvider{p: p, reg: reg, name: name})
	}
}

// warnUnreachable probes every dependency once and logs each one that does not answer, with
// the configuration key to check.
func warnUnreachable(ctx context.Context, reg *depstatus.Registry, logger *slog.Logger) {
	for _, s := range reg.Probe(ctx, probeTimeout) {
		logger.Warn("dependency unreachable: Vigil keeps running and uses it when it answers", "dependency", s.Name,
			"check", s.ConfigKey, "error", s.LastError)
	}
}

type statusChannel struct {
	notify.Channel
	dep *depstatus.Dep
}

func (c statusChannel) Send(ctx context.Context, m notify.Message) error {
	err := c.Channel.Send(ctx, m)
	if ctx.Err() == nil {
		c.dep.Result(err)
	}
	return err
}

type statusSource struct {
	tracesource.Source
	dep *depstatus.Dep
}

func (s statusSource) Fetch(ctx context.Context, traceID string) (*profile.Profile, error) {
	p, err := s.Source.Fetch(ctx, traceID)
	if errors.Is(err, tracesource.ErrNotFound) {
		s.dep.Success() // it answered: it does not have this trace
	} else if ctx.Err() == nil {
		s.dep.Result(err)
	}
	return p, err
}

// statusProvider records an LLM provider's results per provider and per model. An answer that
// refuses the request (rate limit, bad request, refusal, context length) shows the provider is
// up; no answer, a server error, a retired model or refused credentials count as down.
type statusProvider struct {
	p    llm.Provider
	reg  *depstatus.Registry
	name string
}

func (s statusProvider) Complete(ctx context.Context, req llm.Request) (llm.Response, error) {
	resp, err := s.p.Complete(ctx, req)
	s.result(ctx, req, err)
	return resp, err
}

// Stream streams through a provider that can (the gateway's streamed answers); another
// provider's answer is handed over whole.
func (s statusProvider) Stream(ctx context.Context, req llm.Request, onDelta func(string) error) (llm.Response, error) {
	st, ok := s.p.(gateway.Streamer)
	if !ok {
		resp, err := s.Complete(ctx, req)
		if err == nil && resp.Text != "" {
			err = onDelta(resp.Text)
		}
		return resp, err
	}
	resp, err := st.Stream(ctx, req, onDelta)
	s.result(ctx, req, err)
	return resp, err
}

func (s statusProvider) result(ctx context.Context, req llm.Request, err error) {
	if ctx.Err() != nil {
		return
	}
	var pe *llm.ProviderError
	down := err
	if errors.As(err, &pe) {
		switch pe.Class {
		case llm.ClassRateLimited, llm.ClassBadRequest, llm.ClassRefusal, llm.ClassContextLength, llm.ClassMalformed:
			down = nil
		}
	}
	s.reg.Add("llm:"+s.name, "llm", "providers", nil).Result(down)
	if req.Model != "" {
		s.reg.Add("llm:"+s.name+"/"+req.Model, "llm", "providers", nil).Result(down)
	}
}

type statusPhone struct {
	phone.Caller
	dep *depstatus.Dep
}

func (p statusPhone) Call(ctx context.Context, r phone.CallRequest) (phone.CallResult, error) {
	res, err := p.Caller.Call(ctx, r)
	if ctx.Err() == nil {
		p.dep.Result(err)
	}
	return res, err
}

type statusPhoneHanger struct {
	statusPhone
	h phone.Hanger
}

func (p statusPhoneHanger) Hangup(ctx context.Context, sid string) error { return p.h.Hangup(ctx, sid) }

type statusRepo struct {
	activities.Repo
	dep *depstatus.Dep
}

func (r statusRepo) Tree(ctx context.Context, owner, repo, branch string) (string, []string, error) {
	sha, files, err := r.Repo.Tree(ctx, owner, repo, branch)
	r.dep.Result(err)
	return sha, files, err
}

func (r statusRepo) Read(ctx context.Context, owner, repo, path, ref string) (string, error) {
	s, err := r.Repo.Read(ctx, owner, repo, path, ref)
	r.dep.Result(err)
	return s, err
}

func (r statusRepo) OpenPullRequest(ctx context.Context, owner, repo, base, branch, title, body string, files []ghclient.FileChange) (ghclient.PullRequest, error) {
	pr, err := r.Repo.OpenPullRequest(ctx, owner, repo, base, branch, title, body, files)
	r.dep.Result(err)
	return pr, err
}
