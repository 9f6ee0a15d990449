package config

import (
	_ "embed"
	"fmt"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-ops/vigil/mask"
)

// ExampleYAML is a complete, commented configuration file documenting
// every key. It loads cleanly.
//
//go:embed example.yaml
var ExampleYAML []byte

// Load reads the YAML file at path (none when path is ""), applies the
// environment overrides found in environ (in os.Environ form; nil means
// none) and validates the result. On failure it returns every problem
// found, as an [errors.Join] of [*FieldError]s (or the error reading the
// file).
func Load(path string, environ []string) (*Config, error) {
	if path == "" {
		return Parse("", nil, environ)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, environ)
}

// Parse is Load for a file already in memory; name is used in messages.
// Empty data means defaults only.
func Parse(name string, data []byte, environ []string) (*Config, error) {
	c := Default()
	m := &meta{file: name, lines: map[string]int{}, sources: map[string]string{}}
	if environ != nil {
		m.env = envMap(environ)
	}
	c.meta = m
	root, errs := parseYAML(name, data, m.lines)
	errs = append(errs, applyEnv(root, m.env, m.sources)...)
	if err := root.Decode(c); err != nil {
		// Not expected: parseYAML and applyEnv leave only values that decode.
		errs = append(errs, &FieldError{File: name, Msg: err.Error()})
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err.(interface{ Unwrap() []error }).Unwrap()...)
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return c, nil
}

// Redacted returns the configuration as YAML, suitable for logging: secrets
// are only ever references, and passwords embedded in URLs (database.url)
// are masked.
func (c *Config) Redacted() string {
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return "# cannot encode configuration: " + err.Error() + "\n"
	}
	redactNode(&n)
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return "# cannot encode configuration: " + err.Error() + "\n"
	}
	_ = enc.Close()
	return b.String()
}

func redactNode(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		n.Value = redactURL(n.Value)
	}
	for _, c := range n.Content {
		redactNode(c)
	}
}

// sensitiveQuery are URL query parameters masked by redactURL.
var sensitiveQuery = []string{"password", "secret", "token", "key"}

// redactURL masks the password and secret-looking query parameters of a
// URL; other strings are returned unchanged.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Unparseable (a stray '%' or a space in the password): redact by text, never print it.
		return mask.RedactURL(s)
	}
	changed := false
	if strings.EqualFold(u.Hostname(), "hooks.slack.com") && u.Path != "" && u.Path != "/" {
		// The path of a Slack incoming webhook is its secret.
		u.Path, u.RawPath = "/xxxxx", ""
		changed = true
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		changed = true
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			for _, sk := range sensitiveQuery {
				if strings.Contains(strings.ToLower(k), sk) {
					q.Set(k, "xxxxx")
					changed = true
				}
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s
	}
	return u.String()
}
