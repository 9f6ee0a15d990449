package starter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/vigil-ops/vigil/change"
)

// Input limits, checked before anything reaches Temporal, so that a request Temporal would
// refuse (or a workflow it would terminate) is a 422 naming the field instead of a 202 that
// never works, or a retryable 503 that a sender retries forever.
const (
	// MaxNameBytes bounds every value that becomes a search attribute, a workflow ID part or a
	// label: an alert's rule, application, severity, instance and fingerprint, an Alertmanager
	// label those are taken from, a deployment's ID, version and author, and an application's
	// ID and name. Temporal allows 2 KB per search-attribute value.
	MaxNameBytes = 256
	// MaxDeploymentApplications bounds the applications of one deployment.
	MaxDeploymentApplications = 50
	// MaxSearchAttributeBytes is Temporal's limit on one search-attribute value: a deployment's
	// application names together (the VigilApplications keyword list, a JSON array) must fit.
	MaxSearchAttributeBytes = 2048
	// MaxAlertmanagerAlerts bounds the alerts of one Alertmanager body (Alertmanager's
	// webhook_config max_alerts can keep a body under it).
	MaxAlertmanagerAlerts = 10_000
	// MaxGroupKeyBytes bounds an Alertmanager group key (hashed into the incident's ID).
	MaxGroupKeyBytes = 4096
	// MaxSignalBytes bounds the signal one Alertmanager notification becomes, under Temporal's
	// 2 MB limit on one payload.
	MaxSignalBytes = 1536 << 10
)

// temporalProblem answers a failed start or signal (problemOf), its detail saying what failed:
// Temporal's InvalidArgument (a limit the request broke) is the sender's fault and is not
// retried (422); anything else may pass (503).
func temporalProblem(err error, what string) Problem {
	p := problemOf(err)
	p.Detail = what + ": " + p.Detail
	return p
}

// limitField adds a problem when v is longer than MaxNameBytes or not UTF-8.
func limitField(probs *[]ProblemField, field, v string) {
	limitFieldTo(probs, field, v, MaxNameBytes)
}

func limitFieldTo(probs *[]ProblemField, field, v string, max int) {
	switch {
	case len(v) > max:
		*probs = append(*probs, ProblemField{Field: field, Message: fmt.Sprintf("must be at most %d bytes, got %d", max, len(v))})
	case !utf8.ValidString(v):
		*probs = append(*probs, ProblemField{Field: field, Message: "must be valid UTF-8"})
	}
}

// deploymentProblems checks a deployment's applications (under the field prefix, "" or
// "deployment.payload.") and the values that become workflow IDs and search attributes.
func deploymentProblems(d change.Deployment, prefix string) []ProblemField {
	var probs []ProblemField
	switch n := len(d.Applications); {
	case n == 0:
		probs = append(probs, ProblemField{Field: prefix + "applications", Message: "at least one application is required"})
	case n > MaxDeploymentApplications:
		probs = append(probs, ProblemField{Field: prefix + "applications",
			Message: fmt.Sprintf("at most %d applications per deployment, got %d", MaxDeploymentApplications, n)})
		return probs
	}
	names := make([]string, 0, len(d.Applications))
	for i, app := range d.Applications {
		f := fmt.Sprintf("%sapplications[%d]", prefix, i)
		if app.ID == "" {
			probs = append(probs, ProblemField{Field: f + ".id", Message: "required"})
		}
		if app.Name == "" {
			probs = append(probs, ProblemField{Field: f + ".name", Message: "required"})
		}
		limitField(&probs, f+".id", string(app.ID))
		limitField(&probs, f+".name", app.Name)
		names = append(names, app.Name)
	}
	if b, _ := json.Marshal(names); len(b) > MaxSearchAttributeBytes {
		probs = append(probs, ProblemField{Field: prefix + "applications", Message: fmt.Sprintf(
			"the application names together take %d bytes; at most %d fit in one search attribute (VigilApplications)", len(b), MaxSearchAttributeBytes)})
	}
	return probs
}

// errTrailingData is a JSON body followed by more than white space.
var errTrailingData = errors.New("unexpected data after the JSON value")

// checkEOF reports an error when dec has more than white space left.
func checkEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w at byte offset %d", errTrailingData, dec.InputOffset())
	}
	return nil
}

// decodeJSON decodes one JSON value that must be the whole body: trailing data is refused, and
// with disallowUnknown a key no field takes is an *unknownFieldError (after the syntax and type
// errors of the value).
func decodeJSON(body []byte, v any, disallowUnknown bool) error {
	if disallowUnknown {
		// The common case in one pass: encoding/json refusing unknown keys itself accepts what
		// checkKnownFields accepts (TestUnknownFieldLikeEncodingJSON, FuzzUnknownField). Any
		// error is found again below, on a fresh value, so that it is reported as before: the
		// syntax and type errors first, the unknown key with its field.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err == nil {
			return checkEOF(dec)
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv.Elem().SetZero()
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if disallowUnknown {
		if err := checkKnownFields(body, v); err != nil {
			return err
		}
	}
	return checkEOF(dec)
}

// trailingProblem is the 400 of a body with data after its JSON value.
func trailingProblem(err error) Problem {
	return Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error() + ": send exactly one JSON value"}
}
