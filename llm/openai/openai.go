package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Config configures one OpenAI-compatible provider.
type Config struct {
	// Name is the provider name, used in errors (default "openai").
	Name string
	// BaseURL is the API base URL, e.g. http://127.0.0.1:9000/v1 or https://api.openai.com/v1;
	// for Azure the resource endpoint https://<resource>.openai.azure.com.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" ("api-key: <key>" for Azure); it may be
	// empty (Ollama), then no Authorization header is sent.
	APIKey string
	// Timeout bounds one request, from sending to reading the whole answer; default 60s.
	Timeout time.Duration
	// HTTPClient is optional; by default a new client with Timeout is used (never
	// http.DefaultClient). A given client is not modified: the provider uses a copy whose
	// Transport is wrapped to record response headers (see the package documentation).
	HTTPClient *http.Client
	// AzureAPIVersion, when set, switches to go-openai's Azure configuration
	// (DefaultAzureConfig): "api-key" header, deployment URLs with ?api-version=, and the
	// request's model used verbatim as the deployment name.
	AzureAPIVersion string
}

// Provider sends chat-completion requests to one OpenAI-compatible endpoint. It is safe for
// concurrent use.
type Provider struct {
	name    string
	timeout time.Duration
	client  *goopenai.Client
}

var _ llm.Provider = (*Provider)(nil)

// New validates the configuration and returns a provider.
func New(cfg Config) (*Provider, error) {
	name := cfg.Name
	if name == "" {
		name = "openai"
	}
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		return nil, fmt.Errorf("provider %s: base URL is required", name)
	case err != nil:
		return nil, fmt.Errorf("provider %s: invalid base URL %q: %v", name, mask.RedactURL(cfg.BaseURL), err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("provider %s: base URL %q must be an absolute http or https URL", name, mask.RedactURL(cfg.BaseURL))
	case u.Host == "":
		return nil, fmt.Errorf("provider %s: base URL %q has no host", name, mask.RedactURL(cfg.BaseURL))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("provider %s: base URL %q must not have a query or fragment", name, mask.RedactURL(cfg.BaseURL))
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("provider %s: timeout must not be negative", name)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient // a copy: the caller's client keeps its transport
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Every concurrent call keeps its connection: the default of 2 idle connections per
		// host makes a busy gateway open (and leave in TIME_WAIT) a connection per call.
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
		hc = http.Client{Timeout: timeout, Transport: tr}
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &captureTransport{base: base}

	var oc goopenai.ClientConfig
	if cfg.AzureAPIVersion != "" {
		oc = goopenai.DefaultAzureConfig(cfg.APIKey, strings.TrimRight(cfg.BaseURL, "/"))
		oc.APIVersion = cfg.AzureAPIVersion
		oc.AzureModelMapperFunc = func(model string) string { return model }
	} else {
		oc = goopenai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	oc.HTTPClient = &hc
	return &Provider{name: name, timeout: timeout, client: goopenai.NewClientWithConfig(oc)}, nil
}

// Name returns the provider name used in errors.
func (p *Provider) Name() string { return p.name }

// Complete sends one chat-completion request. Failures are *llm.ProviderError (see the
// package documentation), except a cancellation of ctx, which wraps context.Canceled.
func (p *Provider) Complete(ctx context.Context, req llm.Request) (llm.Response, error) {
	creq, zeroKeys, err := buildRequest(req)
	if err != nil {
		return llm.Response{}, &llm.ProviderError{Provider: p.name, Class: llm.ClassBadRequest, Message: err.Error()}
	}
	st := &callState{zeroKeys: zeroKeys}
	callCtx, cancel := context.WithTimeout(withState(ctx, st), p.timeout)
	defer cancel()

	resp, err := p.client.CreateChatCompletion(callCtx, creq)
	if err != nil {
		return llm.Response{}, p.classify(ctx, callCtx, st, err)
	}
	out := llm.Response{
		Model:        resp.Model,
		InputTokens:  int64(resp.Usage.PromptTokens),
		OutputTokens: int64(resp.Usage.CompletionTokens),
	}
	_, status, _, _ := st.snapshot()
	if len(resp.Choices) == 0 {
		return out, &llm.ProviderError{Provider: p.name, StatusCode: status, Class: llm.ClassMalformed,
			Retryable: true, Message: "the response has no choices"}
	}
	choice := resp.Choices[0]
	if choice.Message.Refusal != "" {
		return out, &llm.ProviderError{Provider: p.name, StatusCode: status, Class: llm.ClassRefusal,
			Message: "the model refused: " + choice.Message.Refusal}
	}
	if choice.FinishReason == goopenai.FinishReasonContentFilter {
		return out, &llm.ProviderError{Provider: p.name, StatusCode: status, Class: llm.ClassRefusal,
			Message: "the answer was withheld by the content filter (finish_reason content_filter)"}
	}
	out.Text = choice.Message.Content
	return out, nil
}

// buildRequest maps a Vigil request onto go-openai's request. zeroKeys lists the sampling
// fields explicitly set to 0, which go-openai's omitempty would drop.
func buildRequest(req llm.Request) (goopenai.ChatCompletionRequest, []string, error) {
	out := goopenai.ChatCompletionRequest{Model: req.Model}
	if req.System != "" {
		out.Messages = append(out.Messages, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleSystem, Content: req.System})
	}
	for _, m := range req.Messages {
		out.Messages = append(out.Messages, goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}

	par := req.Parameters
	var zeroKeys []string
	setFloat := func(key string, v *float64, dst *float32) {
		if v == nil {
			return
		}
		*dst = float32(*v)
		if *dst == 0 {
			zeroKeys = append(zeroKeys, key)
		}
	}
	setFloat("temperature", par.Temperature, &out.Temperature)
	setFloat("top_p", par.TopP, &out.TopP)
	setFloat("presence_penalty", par.PresencePenalty, &out.PresencePenalty)
	setFloat("frequency_penalty", par.FrequencyPenalty, &out.FrequencyPenalty)
	if par.Seed != nil {
		seed := *par.Seed
		out.Seed = &seed
	}
	if len(par.Stop) > 0 {
		out.Stop = append([]string(nil), par.Stop...)
	}
	if par.MaxTokens > 0 {
		out.MaxTokens = par.MaxTokens
		// go-openai refuses max_tokens for the models it treats as reasoning models, which take
		// max_completion_tokens instead.
		if usesMaxCompletionTokens(req.Model) {
			out.MaxTokens, out.MaxCompletionTokens = 0, par.MaxTokens
		}
	}

	rf, err := responseFormat(req.ResponseFormat)
	if err != nil {
		return out, nil, err
	}
	out.ResponseFormat = rf
	return out, zeroKeys, nil
}

func responseFormat(f llm.ResponseFormat) (*goopenai.ChatCompletionResponseFormat, error) {
	switch f.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatTypeJSONObject}, nil
	case "json_schema":
		if len(f.Schema) == 0 || !json.Valid(f.Schema) {
			return nil, errors.New("response_format json_schema needs a valid JSON schema")
		}
		name := f.Name
		if name == "" {
			name = "response"
		}
		return &goopenai.ChatCompletionResponseFormat{
			Type: goopenai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{
				Name:   name,
				Schema: json.RawMessage(f.Schema),
				Strict: true,
			},
		}, nil
	default:
		return nil, fmt.Errorf("unknown response_format type %q", f.Type)
	}
}

// usesMaxCompletionTokens asks go-openai's own validator whether it refuses max_tokens for
// the model, so the two never disagree.
func usesMaxCompletionTokens(model string) bool {
	probe := goopenai.ChatCompletionRequest{Model: model, MaxTokens: 1}
	return errors.Is(goopenai.NewReasoningValidator().Validate(probe), goopenai.ErrReasoningModelMaxTokensDeprecated)
}
