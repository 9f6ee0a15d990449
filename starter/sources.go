package starter

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/alertmap"
	"github.com/vigil-ops/vigil/profile"
)

// Sources are the secrets of the built-in alert sources of POST /v1/alerts/{source}
// (alerts.sources); a source whose secret is empty is not served.
type Sources struct {
	// SentryClientSecret verifies Sentry-Hook-Signature (the internal integration's client
	// secret).
	SentryClientSecret []byte
	// DatadogToken and KibanaToken are the bearer tokens those senders put in their
	// Authorization header.
	DatadogToken []byte
	KibanaToken  []byte
	// Generic are the sources defined in the configuration (alerts.sources.generic), by name.
	Generic map[string]GenericSource
}

// GenericSource is a source defined in the configuration: its token and its mapping.
type GenericSource struct {
	Token  []byte
	Mapper *alertmap.Mapper
}

// genericSource is the alertSource of a configured mapping.
func genericSource(name string, g GenericSource) alertSource {
	return alertSource{
		configKey: "alerts.sources.generic",
		secret:    func(Sources) []byte { return g.Token },
		verify:    verifyBearer,
		parse: func(_ *http.Request, body []byte) (sourceNotification, error) {
			res, err := g.Mapper.Map(body, time.Now())
			if err != nil {
				var fes alertmap.FieldErrors
				if errors.As(err, &fes) {
					var out profile.FieldErrors
					for _, fe := range fes {
						out = append(out, &profile.FieldError{Field: fe.Field, Message: fe.Message})
					}
					return sourceNotification{}, out
				}
				return sourceNotification{}, err
			}
			var out profile.FieldErrors
			for _, p := range alertLimits(res.Alert) {
				out = append(out, &profile.FieldError{Field: mappingKey(p.Field), Message: p.Message})
			}
			if len(out) > 0 {
				return sourceNotification{}, out
			}
			n := sourceNotification{GroupKey: res.GroupKey}
			if res.Resolved {
				n.Resolved = []string{res.Alert.Fingerprint}
			} else {
				n.Firing = []*profile.Alert{res.Alert}
			}
			return n, nil
		},
	}
}

// mappingKey names the mapping key of an alert-model field.
func mappingKey(f string) string {
	if f == "traceId" {
		return "trace_id"
	}
	return f
}

// alertSource is one built-in source: how its requests are verified and how its body becomes
// a notification of a group.
type alertSource struct {
	// configKey names the setting that turns the source on, for the 404 of one that is off.
	configKey string
	secret    func(Sources) []byte
	verify    func(r *http.Request, body, secret []byte) error
	parse     func(r *http.Request, body []byte) (sourceNotification, error)
}

// sourceNotification is what one request of a source says: alerts of one group that fire or
// resolve. Ignored, when set, says why the request carries nothing to act on (a Sentry
// installation hook, an issue assigned): it is answered 202 and dropped.
type sourceNotification struct {
	GroupKey string
	Firing   []*profile.Alert
	Resolved []string
	Ignored  string
}

var builtinSources = map[string]alertSource{
	"sentry": {
		configKey: "alerts.sources.sentry.client_secret_env",
		secret:    func(s Sources) []byte { return s.SentryClientSecret },
		verify:    verifySentry,
		parse:     parseSentry,
	},
	"datadog": {
		configKey: "alerts.sources.datadog.token_env",
		secret:    func(s Sources) []byte { return s.DatadogToken },
		verify:    verifyBearer,
		parse:     parseDatadog,
	},
	"kibana": {
		configKey: "alerts.sources.kibana.token_env",
		secret:    func(s Sources) []byte { return s.KibanaToken },
		verify:    verifyBearer,
		parse:     parseKibana,
	},
}

// verifyBearer checks "Authorization: Bearer <token>" (or HTTP basic authentication whose
// password is the token) against the source's token (compared as
// SHA-256 sums, in constant time).
func verifyBearer(r *http.Request, _, token []byte) error {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if _, pass, basic := r.BasicAuth(); basic {
		// Senders that only take credentials in the URL (https://vigil:<token>@host/...).
		scheme, tok, ok = "Bearer", pass, true
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return errors.New("want Authorization: Bearer <the source's token>")
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	want := sha256.Sum256(token)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return errors.New("the bearer token is not the source's token")
	}
	return nil
}

// hashID is a short stable identity of its parts (a fingerprint part of bounded length).
func hashID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// splitTags reads "k:v,k2:v2,flag" tags (Datadog's $TAGS, Kibana's rule tags) into a map; a tag
// without a value maps to "". At most 32 are kept.
func splitTags(s string) map[string]string {
	out := map[string]string{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" || len(out) >= 32 {
			continue
		}
		k, v, _ := strings.Cut(t, ":")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// SourceIgnored is the 202 answer of a source request with nothing to act on.
type SourceIgnored struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func sourceNames() string {
	names := make([]string, 0, len(builtinSources))
	for n := range builtinSources {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// postSourceAlert serves POST /v1/alerts/{source}: the source's own verification (its
// signature or token, nothing else), then its body mapped onto alerts of one group, handed to
// the group's incident as Alertmanager's are.
func (a *API) postSourceAlert(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	src, ok := builtinSources[name]
	if g, isGeneric := a.Sources.Generic[name]; isGeneric && !ok {
		src, ok = genericSource(name, g), true
	}
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("no alert source %q (built in: apm, alertmanager, %s)", name, sourceNames())})
		return
	}
	secret := src.secret(a.Sources)
	if len(secret) == 0 {
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("the alert source %s is not configured (%s)", name, src.configKey)})
		return
	}
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	if err := src.verify(r, body, secret); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		writeProblem(w, Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
		return
	}
	r = r.WithContext(withPrincipal(r.Context(), Principal{Client: "source:" + name}))
	title := "Invalid " + name + " payload"
	n, err := src.parse(r, body)
	if err != nil {
		writeProblem(w, sourceProblem(err, title))
		return
	}
	if n.Ignored != "" {
		writeJSON(w, http.StatusAccepted, SourceIgnored{Status: "ignored", Reason: n.Ignored})
		return
	}
	var probs []ProblemField
	limitFieldTo(&probs, "groupKey", n.GroupKey, MaxGroupKeyBytes)
	for _, fp := range n.Resolved {
		limitField(&probs, "fingerprint", fp)
	}
	if len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: title, Errors: probs})
		return
	}
	a.signalGroup(w, r, n.GroupKey, n.Firing, n.Resolved, title, "send fewer alerts per request")
}

// sourceProblem turns a source's parse error into a problem: 400 for a body that is not JSON of
// the source's shape, 422 naming each field at fault otherwise.
func sourceProblem(err error, title string) Problem {
	var fes profile.FieldErrors
	var fe *profile.FieldError
	switch {
	case errors.As(err, &fes):
	case errors.As(err, &fe):
		fes = profile.FieldErrors{fe}
	default:
		return Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()}
	}
	p := Problem{Status: http.StatusUnprocessableEntity, Title: title}
	for _, e := range fes {
		p.Errors = append(p.Errors, ProblemField{Field: e.Field, Message: e.Message})
	}
	return p
}

// decodeSource decodes a source's body (unknown fields allowed: vendors add fields), naming the
// field of a type error; a syntax error or trailing data is a plain error (400).
func decodeSource(body []byte, v any) error {
	if err := decodeJSON(body, v, false); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &profile.FieldError{Field: te.Field, Message: "must be " + jsonKind(te.Type.Kind().String()) + ", got " + te.Value}
		}
		return err
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "true or false"
	default:
		return "a number"
	}
}

// toSourceAlert builds an alert from the model's fields through profile.ParseAlert (so it is
// normalised and validated as any other), then checks the values that become search attributes.
// A problem names the source's own field (fields maps the model's names to the body's).
func toSourceAlert(m map[string]any, fields map[string]string) (*profile.Alert, error) {
	for k, v := range m {
		if s, ok := v.(string); ok && s == "" {
			delete(m, k)
		}
	}
	rename := func(f string) string {
		for model, src := range fields {
			if f == model || strings.HasPrefix(f, model+".") || strings.HasPrefix(f, model+"[") {
				return src + f[len(model):]
			}
		}
		return f
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	al, err := profile.ParseAlert(b)
	if err != nil {
		var out profile.FieldErrors
		var fes profile.FieldErrors
		var fe *profile.FieldError
		switch {
		case errors.As(err, &fes):
		case errors.As(err, &fe):
			fes = profile.FieldErrors{fe}
		default:
			return nil, err
		}
		for _, e := range fes {
			out = append(out, &profile.FieldError{Field: rename(e.Field), Message: e.Message})
		}
		return nil, out
	}
	var out profile.FieldErrors
	for _, p := range alertLimits(al) {
		out = append(out, &profile.FieldError{Field: rename(p.Field), Message: p.Message})
	}
	if len(out) > 0 {
		return nil, out
	}
	return al, nil
}

// flexString is a JSON string or number, kept as text (vendors send IDs either way).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return &json.UnmarshalTypeError{Value: "object or array", Type: reflect.TypeFor[string]()}
		}
		*f = flexString(n.String())
		return nil
	}
}

// unixTime reads Unix seconds (with a fraction) or milliseconds (13 digits and more).
func unixTime(v float64) time.Time {
	if v > 1e12 {
		return time.UnixMilli(int64(v)).UTC()
	}
	sec := int64(v)
	return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC()
}
