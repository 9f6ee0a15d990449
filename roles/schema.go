package roles

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaCache keeps compiled schemas by the SHA-256 of their text: compiling is far dearer than
// validating, and a role's schema is checked on every answer.
var schemaCache sync.Map // [32]byte -> *jsonschema.Schema

// CompileSchema compiles a JSON schema (draft 2020-12 unless it names another draft).
func CompileSchema(schema json.RawMessage) (*jsonschema.Schema, error) {
	key := sha256.Sum256(schema)
	if s, ok := schemaCache.Load(key); ok {
		return s.(*jsonschema.Schema), nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("role-schema.json", doc); err != nil {
		return nil, err
	}
	s, err := c.Compile("role-schema.json")
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "file:///", ""))
	}
	schemaCache.Store(key, s)
	return s, nil
}

// CheckSchema reports whether schema is a valid JSON schema.
func CheckSchema(schema json.RawMessage) error {
	_, err := CompileSchema(schema)
	return err
}

// ValidateAnswer checks a structured answer against the role's response format: json_object
// needs a JSON object, json_schema an instance of the schema. Text answers always pass.
func ValidateAnswer(f ResponseFormat, answer string) error {
	switch f.Type {
	case "", "text":
		return nil
	case "json_object", "json_schema":
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(stripFence(answer)))
		if err != nil {
			return fmt.Errorf("answer is not JSON: %w", err)
		}
		if _, ok := v.(map[string]any); !ok {
			return errors.New("answer is not a JSON object")
		}
		if f.Type == "json_object" {
			return nil
		}
		s, err := CompileSchema(f.Schema)
		if err != nil {
			return fmt.Errorf("role schema: %w", err)
		}
		if err := s.Validate(v); err != nil {
			return fmt.Errorf("answer breaks the schema: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("unknown response format %q", f.Type)
	}
}

// ParseAnswer returns a structured answer as a JSON value (the text itself for text roles).
func ParseAnswer(f ResponseFormat, answer string) (json.RawMessage, bool) {
	if f.Type != "json_object" && f.Type != "json_schema" {
		return nil, false
	}
	s := stripFence(answer)
	if !json.Valid([]byte(s)) {
		return nil, false
	}
	return json.RawMessage(s), true
}

// stripFence removes a Markdown code fence some models wrap JSON in.
func stripFence(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "```") {
		t = strings.TrimPrefix(t, "```")
		t = strings.TrimPrefix(t, "json")
		t = strings.TrimSuffix(strings.TrimSpace(t), "```")
	}
	return strings.TrimSpace(t)
}
