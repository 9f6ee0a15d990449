package mask

import (
	"bytes"
	"encoding/json"
	"strconv"
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
func (m *Masker) RedactSecrets(text string) string { return m.RedactRecord(text)[0] }

// RedactSecretsJSON is RedactSecrets over a JSON document; the result is valid JSON.
func (m *Masker) RedactSecretsJSON(doc []byte) []byte {
	if len(doc) == 0 {
		return doc
	}
	return []byte(m.RedactRecord(string(doc))[0])
}

// RedactRecord redacts the texts of one record (an alert, its facts, its report) like
// RedactSecrets, each also with the credentials found in the others: a password recognised in
// the alert's JDBC URL is redacted where the report repeats it in prose. A text that is a JSON
// document stays valid JSON.
func (m *Masker) RedactRecord(texts ...string) []string {
	if m == nil {
		m = defaultMasker()
	}
	v := NewVault()
	regs := make([][]region, len(texts))
	for i, t := range texts {
		for _, rg := range m.regions(t) {
			if !secretKind(rg.kind) {
				continue
			}
			regs[i] = append(regs[i], rg)
			val := t[rg.start:rg.end]
			if _, ok := v.tokenOf(val); !ok {
				v.index()
				v.add(kindNames[kCredential], val, "\x00"+strconv.Itoa(len(v.Entries)))
			}
		}
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = m.redact(t, regs[i], v)
		if out[i] != t && !json.Valid([]byte(out[i])) && json.Valid([]byte(t)) {
			out[i] = m.redactJSON(t, v) // a credential recognised across a string's end
		}
	}
	return out
}

// redact replaces the secret regions of text, and the other occurrences of the vault's values.
func (m *Masker) redact(text string, secrets []region, v *Vault) string {
	secrets = m.recall(v, text, secrets)
	if len(secrets) == 0 {
		return text
	}
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

// redactJSON redacts each string of a JSON document on its own.
func (m *Masker) redactJSON(doc string, v *Vault) string {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var x any
	if dec.Decode(&x) != nil {
		return doc
	}
	var walk func(any) any
	walk = func(x any) any {
		switch y := x.(type) {
		case string:
			var secrets []region
			for _, rg := range m.regions(y) {
				if secretKind(rg.kind) {
					secrets = append(secrets, rg)
				}
			}
			return m.redact(y, secrets, v)
		case []any:
			for i := range y {
				y[i] = walk(y[i])
			}
		case map[string]any:
			for k, val := range y {
				y[k] = walk(val)
			}
		}
		return x
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(walk(x)) != nil {
		return doc
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
