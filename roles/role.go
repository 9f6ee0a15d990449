package roles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-ops/vigil/mask"
)

// Role is one configured AI function: what the model is told, which models answer in which
// order, with which parameters and in which format.
type Role struct {
	Code              string         `yaml:"code" json:"code"`
	Name              string         `yaml:"name" json:"name"`
	Description       string         `yaml:"description,omitempty" json:"description,omitempty"`
	SystemMessage     string         `yaml:"system_message" json:"system_message"`
	Chain             []Link         `yaml:"chain" json:"chain"`
	Parameters        Parameters     `yaml:"parameters,omitempty" json:"parameters"`
	ResponseFormat    ResponseFormat `yaml:"response_format,omitempty" json:"response_format"`
	RateLimitInterval Duration       `yaml:"rate_limit_interval,omitempty" json:"rate_limit_interval,omitempty"`
	Language          string         `yaml:"language,omitempty" json:"language,omitempty"`
	Owner             string         `yaml:"owner,omitempty" json:"owner,omitempty"`
	// Masking configures how sensitive values are masked before messages leave for an LLM
	// (on by default).
	Masking *Masking `yaml:"masking,omitempty" json:"masking,omitempty"`
	Enabled *bool    `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Version is assigned by the store; it is not part of the YAML.
	Version int `yaml:"-" json:"version,omitempty"`
}

// Masking tunes the masking of a role's messages.
type Masking struct {
	// Disabled sends messages unmasked (only for providers inside the company's boundary).
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// InternalSuffixes are extra host-name suffixes to mask, e.g. ".corp.example.com".
	InternalSuffixes []string `yaml:"internal_suffixes,omitempty" json:"internal_suffixes,omitempty"`
	// CustomPatterns are extra recognisers: Go regular expressions whose match (or group 1)
	// is masked.
	CustomPatterns []CustomPattern `yaml:"custom_patterns,omitempty" json:"custom_patterns,omitempty"`
}

// CustomPattern is a named extra masking recogniser.
type CustomPattern struct {
	Name    string `yaml:"name" json:"name"`
	Pattern string `yaml:"pattern" json:"pattern"`
}

// Options returns the masker options of the role (nil Masking = defaults).
func (m *Masking) Options() mask.Options {
	if m == nil {
		return mask.Options{}
	}
	o := mask.Options{InternalSuffixes: m.InternalSuffixes}
	for _, c := range m.CustomPatterns {
		o.Custom = append(o.Custom, mask.CustomPattern{Name: c.Name, Pattern: c.Pattern})
	}
	return o
}

// Link is one provider/model step of a role's LLM chain.
type Link struct {
	Provider   string      `yaml:"provider" json:"provider"`
	Model      string      `yaml:"model" json:"model"`
	Attempts   int         `yaml:"attempts,omitempty" json:"attempts,omitempty"`
	Timeout    Duration    `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Parameters *Parameters `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	// Unlimited is set when a role is resolved for a call, for a model with no requests-per-
	// minute budget: its calls need no rate-limited queue of their own. Not part of the YAML.
	Unlimited bool `yaml:"-" json:"unlimited,omitempty"`
}

// Parameters are the sampling settings sent with a request. Nil pointers mean "provider default".
type Parameters struct {
	Temperature      *float64 `yaml:"temperature,omitempty" json:"temperature,omitempty"`
	TopP             *float64 `yaml:"top_p,omitempty" json:"top_p,omitempty"`
	MaxTokens        int      `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	PresencePenalty  *float64 `yaml:"presence_penalty,omitempty" json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `yaml:"frequency_penalty,omitempty" json:"frequency_penalty,omitempty"`
	Seed             *int     `yaml:"seed,omitempty" json:"seed,omitempty"`
	Stop             []string `yaml:"stop,omitempty" json:"stop,omitempty"`
}

// ResponseFormat says whether the answer is free text or JSON (optionally following a schema).
type ResponseFormat struct {
	Type   string          `yaml:"type" json:"type"` // text | json_object | json_schema
	Name   string          `yaml:"name,omitempty" json:"name,omitempty"`
	Schema json.RawMessage `yaml:"-" json:"schema,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("10m") in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"10m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML decodes a response format, keeping the schema as JSON.
func (f *ResponseFormat) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Type   string    `yaml:"type"`
		Name   string    `yaml:"name"`
		Schema yaml.Node `yaml:"schema"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	f.Type, f.Name = raw.Type, raw.Name
	if raw.Schema.Kind != 0 {
		var v any
		if err := raw.Schema.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: schema: %w", raw.Schema.Line, err)
		}
		f.Schema = b
	}
	return nil
}

// MarshalYAML writes the schema as YAML.
func (f ResponseFormat) MarshalYAML() (any, error) {
	out := map[string]any{"type": f.Type}
	if f.Name != "" {
		out["name"] = f.Name
	}
	if len(f.Schema) > 0 {
		var v any
		if err := json.Unmarshal(f.Schema, &v); err != nil {
			return nil, err
		}
		out["schema"] = v
	}
	return out, nil
}

// IsEnabled reports whether the role may be invoked (default true).
func (r Role) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

var codeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Validate checks the role on its own (provider names are checked against the configuration
// by the caller, which knows them). It returns every problem, each naming the field.
func (r Role) Validate() error {
	var errs []error
	add := func(field, msg string, args ...any) {
		errs = append(errs, FieldProblem{Field: field, Message: fmt.Sprintf(msg, args...)})
	}
	if !codeRE.MatchString(r.Code) {
		add("code", "must be 2-63 characters of a-z, 0-9 and '-', got %q", r.Code)
	}
	if strings.TrimSpace(r.SystemMessage) == "" {
		add("system_message", "required")
	}
	if len(r.Chain) == 0 {
		add("chain", "must have at least one link")
	}
	for i, l := range r.Chain {
		if l.Provider == "" {
			add(fmt.Sprintf("chain[%d].provider", i), "required")
		}
		if l.Model == "" {
			add(fmt.Sprintf("chain[%d].model", i), "required")
		}
		if l.Attempts < 0 || l.Attempts > 20 {
			add(fmt.Sprintf("chain[%d].attempts", i), "must be between 0 and 20")
		}
		if l.Timeout < 0 {
			add(fmt.Sprintf("chain[%d].timeout", i), "must not be negative")
		}
		if l.Parameters != nil {
			errs = append(errs, l.Parameters.validate(fmt.Sprintf("chain[%d].parameters", i))...)
		}
	}
	errs = append(errs, r.Parameters.validate("parameters")...)
	switch r.ResponseFormat.Type {
	case "", "text", "json_object":
	case "json_schema":
		if len(r.ResponseFormat.Schema) == 0 || !json.Valid(r.ResponseFormat.Schema) {
			add("response_format.schema", "a JSON schema is required for type json_schema")
		}
	default:
		add("response_format.type", "must be text, json_object or json_schema, got %q", r.ResponseFormat.Type)
	}
	if r.Masking != nil {
		if _, err := mask.New(r.Masking.Options()); err != nil {
			add("masking.custom_patterns", "%v", err)
		}
	}
	if r.RateLimitInterval < 0 {
		add("rate_limit_interval", "must not be negative")
	}
	switch r.Language {
	case "", "en", "ko":
	default:
		add("language", "must be en or ko, got %q", r.Language)
	}
	return errors.Join(errs...)
}

func (p Parameters) validate(prefix string) []error {
	var errs []error
	rng := func(name string, v *float64, lo, hi float64) {
		if v != nil && (*v < lo || *v > hi) {
			errs = append(errs, FieldProblem{Field: prefix + "." + name, Message: fmt.Sprintf("must be between %g and %g, got %g", lo, hi, *v)})
		}
	}
	rng("temperature", p.Temperature, 0, 2)
	rng("top_p", p.TopP, 0, 1)
	rng("presence_penalty", p.PresencePenalty, -2, 2)
	rng("frequency_penalty", p.FrequencyPenalty, -2, 2)
	if p.MaxTokens < 0 || p.MaxTokens > 1_000_000 {
		errs = append(errs, FieldProblem{Field: prefix + ".max_tokens", Message: fmt.Sprintf("must be between 0 and 1000000, got %d", p.MaxTokens)})
	}
	if len(p.Stop) > 4 {
		errs = append(errs, FieldProblem{Field: prefix + ".stop", Message: "at most 4 stop sequences"})
	}
	return errs
}

// Parse decodes one role from YAML (strictly: unknown keys are errors) and validates it. Errors
// name the file and the line of the field at fault.
func Parse(name string, data []byte) (Role, error) {
	rs, err := ParseAll(name, data)
	if err != nil {
		return Role{}, err
	}
	if len(rs) != 1 {
		return Role{}, fmt.Errorf("%s: want exactly one role, found %d", name, len(rs))
	}
	return rs[0], nil
}

// ParseAll decodes every YAML document of data as a role (the format of `vigil roles export`).
func ParseAll(name string, data []byte) ([]Role, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Role
	var errs []error
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var r Role
		if err := decodeStrict(&doc, &r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if err := r.Validate(); err != nil {
			for _, e := range unwrapAll(err) {
				var fp FieldProblem
				errors.As(e, &fp)
				if line := lineOf(&doc, fp.Field); line > 0 {
					errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, e))
				} else {
					errs = append(errs, fmt.Errorf("%s: %w", name, e))
				}
			}
			continue
		}
		out = append(out, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no role in the file", name)
	}
	return out, nil
}

// decodeStrict decodes a document node, refusing unknown keys (yaml.v3 only checks them from a
// Decoder, so the node is re-encoded).
func decodeStrict(doc *yaml.Node, v any) error {
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// lineOf finds the line of a field path such as "chain[1].model" in a YAML document.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			fmt.Sscanf(part[i+1:len(part)-1], "%d", &idx)
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next, line = n.Content[i+1], n.Content[i].Line
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n, line = n.Content[idx], n.Content[idx].Line
		}
	}
	return line
}

//go:embed *.yaml
var defaultFS embed.FS

// Defaults returns the built-in role pack, sorted by code.
func Defaults() ([]Role, error) {
	names, err := fs.Glob(defaultFS, "*.yaml")
	if err != nil {
		return nil, err
	}
	var out []Role
	for _, n := range names {
		b, err := defaultFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		r, err := Parse("roles/"+n, b)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

// Default returns one role of the built-in pack.
func Default(code string) (Role, bool) {
	all, err := Defaults()
	if err != nil {
		return Role{}, false
	}
	for _, r := range all {
		if r.Code == code {
			return r, true
		}
	}
	return Role{}, false
}
