package mask

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces a credential in text stored at rest (RedactSecrets).
const Redacted = "[redacted]"

// secretKind reports the recogniser kinds that are credentials: passwords (in URLs, JDBC URLs,
// key=value pairs, headers, SQL), tokens and keys. A credential is needed by nobody who reads an
// incident afterwards, so unlike a host it is not kept anywhere in the clear.
func secretKind(k uint16) bool {
	switch k {
	case kCredential, kJWT, kAWS, kGitHub, kSlack, kPEM:
		return true
	}
	return false
}

// RedactSecrets replaces every credential in text by Redacted: the passwords, tokens and keys the
// masking recognisers find (inside URLs and JDBC URLs, after password= or token: keys, in
// Authorization and Cookie headers, in SQL assignments, JWTs, cloud and GitHub tokens, PEM
// private keys), and every other occurrence of those values in text. Hosts, e-mails and the
// rest stay as they are. It is how Vigil keeps credentials out of what it stores; a nil Masker
// uses the built-in recognisers.
func (m *Masker) RedactSecrets(text string) string {
	if m == nil {
		m = defaultMasker()
	}
	regs := m.regions(text)
	var secrets []region
	for _, rg := range regs {
		if secretKind(rg.kind) {
			secrets = append(secrets, rg)
		}
	}
	if len(secrets) == 0 {
		return text
	}
	secrets = m.recall(nil, text, secrets)
	var b strings.Builder
	last := 0
	for _, rg := range secrets {
		b.WriteString(text[last:rg.start])
		b.WriteString(Redacted)
		last = rg.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// RedactSecretsJSON is RedactSecrets over a JSON document's text, so that a password in one field
// is also found where another field repeats it. If that would break the document (a credential
// recognised across a string's end), each string is redacted on its own instead.
func (m *Masker) RedactSecretsJSON(doc []byte) []byte {
	if len(doc) == 0 {
		return doc
	}
	out := []byte(m.RedactSecrets(string(doc)))
	if json.Valid(out) || !json.Valid(doc) {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return out
	}
	b, err := json.Marshal(m.redactValue(v))
	if err != nil {
		return out
	}
	return b
}

func (m *Masker) redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return m.RedactSecrets(x)
	case []any:
		for i := range x {
			x[i] = m.redactValue(x[i])
		}
	case map[string]any:
		for k, val := range x {
			x[k] = m.redactValue(val)
		}
	}
	return v
}
