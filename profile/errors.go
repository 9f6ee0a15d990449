package profile

import "strings"

// FieldError is one problem in an alert or profile document. Field is the JSON path of the value
// at fault (for example "profile.spans[3].durationMs"); it is empty when the problem concerns the
// document as a whole, such as a syntax error before the first field.
type FieldError struct {
	Field   string
	Message string
	// Malformed says the document is not valid JSON at all (a syntax error, data after it),
	// rather than JSON that breaks the schema.
	Malformed bool
}

// Error returns "field: message", or only the message when no field is known.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// FieldErrors lists every problem found in a document, in document order, so that an HTTP layer
// can report them all at once. ParseAlert returns it only when there is more than one problem.
type FieldErrors []*FieldError

// Error joins the problems with "; ".
func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// asError turns a list of problems into nil, the single *FieldError, or the FieldErrors.
func (es FieldErrors) asError() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	default:
		return es
	}
}

func (es *FieldErrors) add(field, message string) {
	*es = append(*es, &FieldError{Field: field, Message: message})
}
