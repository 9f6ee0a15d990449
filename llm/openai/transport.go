package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// callState is the per-Complete record shared with the transport through the request context.
// go-openai does not return the headers of failed responses, so the transport records them
// here; it also inserts the explicitly zero sampling fields go-openai's omitempty would drop.
type callState struct {
	// zeroKeys are JSON keys to insert with the value 0 (set before the call, read-only after).
	zeroKeys []string

	mu      sync.Mutex
	sent    bool        // the transport was reached
	status  int         // status of the last response (the last hop of redirects)
	header  http.Header // headers of the last response
	bodyErr error       // first non-EOF error while reading the response body
}

type stateKey struct{}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func (st *callState) snapshot() (sent bool, status int, header http.Header, bodyErr error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent, st.status, st.header, st.bodyErr
}

// captureTransport records each response into the callState found on its request context.
type captureTransport struct {
	base http.RoundTripper
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(stateKey{}).(*callState)
	if st == nil {
		return t.base.RoundTrip(req)
	}
	st.mu.Lock()
	st.sent = true
	st.mu.Unlock()
	if len(st.zeroKeys) > 0 && req.Body != nil && req.Body != http.NoBody {
		var err error
		if req, err = insertZeroKeys(req, st.zeroKeys); err != nil {
			return nil, err
		}
	}
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		st.mu.Lock()
		st.status, st.header = resp.StatusCode, resp.Header
		st.mu.Unlock()
		if resp.Body != nil {
			resp.Body = &watchedBody{ReadCloser: resp.Body, st: st}
		}
	}
	return resp, err
}

// insertZeroKeys returns a copy of req whose JSON object body starts with `"key":0` for each
// key. The keys are ones go-openai omitted because of their zero value, so they are absent.
func insertZeroKeys(req *http.Request, keys []string) (*http.Request, error) {
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("request body is not a JSON object")
	}
	rest := bytes.TrimLeft(trimmed[1:], " \t\r\n")
	var b bytes.Buffer
	b.Grow(len(rest) + 24*len(keys))
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + `":0`)
	}
	if len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(rest)
	nb := b.Bytes()

	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(nb))
	out.ContentLength = int64(len(nb))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nb)), nil }
	return out, nil
}

// watchedBody records the first read error other than EOF, so that a response cut off
// mid-body is classified as a network failure rather than as malformed JSON.
type watchedBody struct {
	io.ReadCloser
	st *callState
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.st.mu.Lock()
		if b.st.bodyErr == nil {
			b.st.bodyErr = err
		}
		b.st.mu.Unlock()
	}
	return n, err
}
