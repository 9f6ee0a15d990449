package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"` // system | user | assistant
	Content string `json:"content"`
}

// Task carries the structured context of a call, which the built-in analyst reads instead of
// the free-text messages an LLM reads. Its data is opaque here: the package that owns the kind
// defines it and registers the answerer that decodes it (see Builtin). The workflow that builds
// a task sets Data to the kind's own value; the task travels as JSON in activity inputs, and
// decoding keeps Data as the raw JSON until the answerer reads it with Decode.
type Task struct {
	Kind string `json:"kind"`
	Data any    `json:"data,omitempty"`
}

// UnmarshalJSON keeps the data as raw JSON, for Decode.
func (t *Task) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind string          `json:"kind"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	t.Kind, t.Data = raw.Kind, nil
	if len(raw.Data) > 0 && string(raw.Data) != "null" {
		t.Data = raw.Data
	}
	return nil
}

// Decode reads the task's data into v, whether it was decoded from JSON or set in process.
func (t *Task) Decode(v any) error {
	if t == nil || t.Data == nil {
		return fmt.Errorf("%w: the task carries no data", ErrBuiltinUnsupported)
	}
	b, err := json.Marshal(t.Data)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("%w: %s task: %v", ErrBuiltinUnsupported, t.Kind, err)
	}
	return nil
}

// Parameters are the sampling settings sent with a request. Nil pointers mean "provider default".
// A role's parameters (roles.Parameters) convert to them field for field.
type Parameters struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	MaxTokens        int      `json:"max_tokens,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	Seed             *int     `json:"seed,omitempty"`
	Stop             []string `json:"stop,omitempty"`
}

// ResponseFormat says whether the answer is free text or JSON (optionally following a schema).
// A role's response format (roles.ResponseFormat) converts to it field for field.
type ResponseFormat struct {
	Type   string          `json:"type"` // text | json_object | json_schema
	Name   string          `json:"name,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

// Request is one completion request to one provider/model.
type Request struct {
	Model          string         `json:"model"`
	System         string         `json:"system"`
	Messages       []Message      `json:"messages"`
	Parameters     Parameters     `json:"parameters"`
	ResponseFormat ResponseFormat `json:"response_format"`
	Task           *Task          `json:"task,omitempty"`
}

// Response is a provider's answer.
type Response struct {
	Text         string `json:"text"`
	Model        string `json:"model"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
}

// Provider answers completion requests.
type Provider interface {
	Complete(ctx context.Context, req Request) (Response, error)
}

// Price is a model's price in USD per million tokens.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// Cost returns the estimated charge of a response.
func (p Price) Cost(r Response) float64 {
	return (float64(r.InputTokens)*p.InputPerMTok + float64(r.OutputTokens)*p.OutputPerMTok) / 1e6
}

// ModelInfo is one configured model of a provider: its budget and price.
type ModelInfo struct {
	Provider string
	Model    string
	// RPM is the requests-per-minute budget (0 = unlimited).
	RPM   int
	Price Price
}

// Registry maps provider names to providers and their configured models.
type Registry struct {
	providers map[string]Provider
	prices    map[string]Price // provider + "/" + model
	models    map[string]ModelInfo
}

// NewRegistry returns a registry holding the built-in analyst b as provider "builtin" (nil: one
// that answers no task).
func NewRegistry(b *Builtin) *Registry {
	if b == nil {
		b = NewBuiltin(nil)
	}
	r := &Registry{providers: map[string]Provider{}, prices: map[string]Price{}, models: map[string]ModelInfo{}}
	r.Register(BuiltinName, b)
	return r
}

// Register adds or replaces a provider.
func (r *Registry) Register(name string, p Provider) { r.providers[name] = p }

// AddModel declares a model of a registered provider with its budget and price.
func (r *Registry) AddModel(m ModelInfo) {
	r.models[m.Provider+"/"+m.Model] = m
	r.prices[m.Provider+"/"+m.Model] = m.Price
}

// Models lists the declared models, sorted by provider then model.
func (r *Registry) Models() []ModelInfo {
	out := make([]ModelInfo, 0, len(r.models))
	for _, m := range r.models {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Model < out[j].Model
	})
	return out
}

// CheckModel says whether a chain link can name provider/model: the provider must be
// registered and, except for the built-in analyst, the model declared in the configuration.
func (r *Registry) CheckModel(provider, model string) error {
	if _, err := r.Get(provider); err != nil {
		return err
	}
	if provider == BuiltinName {
		return nil
	}
	if _, ok := r.models[provider+"/"+model]; !ok {
		var known []string
		for _, m := range r.Models() {
			if m.Provider == provider {
				known = append(known, m.Model)
			}
		}
		return fmt.Errorf("model %q is not configured for provider %q (configured: %v)", model, provider, known)
	}
	return nil
}

// Unlimited reports whether a declared model has no requests-per-minute budget.
func (r *Registry) Unlimited(provider, model string) bool {
	m, ok := r.models[provider+"/"+model]
	return ok && m.RPM <= 0
}

// SetPrice records a model's price.
func (r *Registry) SetPrice(provider, model string, p Price) { r.prices[provider+"/"+model] = p }

// Price returns a model's price (zero when unknown).
func (r *Registry) Price(provider, model string) Price { return r.prices[provider+"/"+model] }

// ErrUnknownProvider is returned by Get for a name that is not registered.
var ErrUnknownProvider = errors.New("unknown provider")

// Get returns the named provider.
func (r *Registry) Get(name string) (Provider, error) {
	p, ok := r.providers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownProvider, name, r.Names())
	}
	return p, nil
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.providers))
	for n := range r.providers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ProviderError is a classified provider failure: Retryable for 429/5xx/timeouts (with the
// server's Retry-After when given), not retryable for other 4xx and refusals.
type ProviderError struct {
	Provider   string
	StatusCode int
	// Class names the failure for logs and the usage log: one of the Class* constants.
	Class      string
	Retryable  bool
	RetryAfter time.Duration
	Message    string
}

// Failure classes of a ProviderError.
const (
	ClassRateLimited   = "rate_limited"   // 429; retryable, honours Retry-After
	ClassServerError   = "server_error"   // 5xx; retryable
	ClassTimeout       = "timeout"        // no answer in time; retryable
	ClassNetwork       = "network"        // connection refused/reset; retryable
	ClassMalformed     = "malformed"      // unparsable response body; retryable
	ClassBadRequest    = "bad_request"    // 400; not retryable
	ClassAuth          = "auth"           // 401/403; not retryable
	ClassNotFound      = "not_found"      // 404, e.g. a retired model; not retryable
	ClassContextLength = "context_length" // prompt too long for the model; not retryable
	ClassRefusal       = "refusal"        // content refusal or content filter; not retryable
)

func (e *ProviderError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s: HTTP %d: %s", e.Provider, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Provider, e.Message)
}
