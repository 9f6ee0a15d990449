package gateway

import (
	"context"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/mask"
)

// Streamer is a provider that can hand out its answer as it is written (llm/openai).
type Streamer interface {
	Stream(ctx context.Context, req llm.Request, onDelta func(string) error) (llm.Response, error)
}

// StreamBrokenError is a failure after part of the answer reached the caller: the chain cannot
// fall back any more, and the caller must be told the answer is incomplete.
type StreamBrokenError struct{ Err error }

func (e *StreamBrokenError) Error() string { return "the answer broke off: " + e.Err.Error() }
func (e *StreamBrokenError) Unwrap() error { return e.Err }

// InvokeStream answers like Invoke and hands the answer to emit as it is written: a link whose
// provider streams (and whose role checks no answer format: text roles) is streamed delta by
// delta, unmasked on the way; any other answer is emitted whole once it passed its checks.
// Fallback to the next link happens only before the first byte was emitted; a failure after it
// is a *StreamBrokenError.
func (g *Gateway) InvokeStream(ctx context.Context, req Request, emit func(string) error) (Result, error) {
	s := &streamState{emit: emit}
	res, err := g.invoke(ctx, req, s)
	if err == nil && !s.done {
		// A reused, checked or non-streaming answer goes out whole.
		if e := s.write(res.Text); e != nil {
			return res, e
		}
	}
	return res, err
}

// streamState is one streamed invoke's progress.
type streamState struct {
	emit    func(string) error
	vault   *mask.Vault
	emitted bool // a byte reached the caller: no fallback any more
	done    bool // the answer went out in full
}

func (s *streamState) write(text string) error {
	if text == "" {
		return nil
	}
	s.emitted = true
	return s.emit(text)
}

// canStream says whether a link's answer may be streamed: the provider streams, and nothing
// has to be checked on the whole answer first.
func (g *Gateway) canStream(call LinkCall) (Streamer, bool) {
	if call.Expect != "" {
		return nil, false
	}
	switch call.Request.ResponseFormat.Type {
	case "", "text":
	default:
		return nil, false
	}
	p, err := g.Providers.Get(call.Provider)
	if err != nil {
		return nil, false
	}
	st, ok := p.(Streamer)
	return st, ok
}

// streamAttempt makes one attempt of a link, streaming its answer to s.
func (g *Gateway) streamAttempt(ctx context.Context, st Streamer, call LinkCall, attempt int, s *streamState) (LinkResult, error) {
	u := NewStreamUnmasker(s.vault)
	start := time.Now()
	var emitErr error
	resp, err := st.Stream(ctx, call.Request, func(d string) error {
		if out := u.Write(d); out != "" {
			if emitErr = s.write(out); emitErr != nil {
				return emitErr
			}
		}
		return nil
	})
	res := LinkResult{Provider: call.Provider, Model: call.Request.Model, Attempt: attempt, LatencyMS: time.Since(start).Milliseconds(),
		Text: resp.Text, InputTokens: resp.InputTokens, OutputTokens: resp.OutputTokens}
	res.CostUSD = g.Providers.Price(call.Provider, call.Request.Model).Cost(resp)
	if resp.Model != "" {
		res.Model = resp.Model
	}
	switch {
	case emitErr != nil:
		return res, &StreamBrokenError{Err: emitErr}
	case err != nil && s.emitted:
		return res, &StreamBrokenError{Err: err}
	case err != nil:
		return res, err
	}
	if err := s.write(u.Flush()); err != nil {
		return res, &StreamBrokenError{Err: err}
	}
	s.done = true
	return res, nil
}

// StreamUnmasker restores the original values of a vault's tokens in an answer that arrives in
// pieces, where a token may be split across pieces. It holds back only the end of what it was
// given that could still be the start of a token; everything before goes out at once.
type StreamUnmasker struct {
	vault   *mask.Vault
	tokens  []string // lower-case
	pending string
	prev    byte // the last byte handed out (the left context of pending)
}

// NewStreamUnmasker returns an unmasker for the vault's tokens (a nil or empty vault passes
// text through unchanged).
func NewStreamUnmasker(v *mask.Vault) *StreamUnmasker {
	u := &StreamUnmasker{vault: v}
	if v != nil {
		for _, e := range v.Entries {
			if e.Token != "" {
				u.tokens = append(u.tokens, strings.ToLower(e.Token))
			}
		}
	}
	return u
}

// Write takes the next piece of the answer and returns what can be handed out now, unmasked.
func (u *StreamUnmasker) Write(piece string) string {
	if len(u.tokens) == 0 {
		return piece
	}
	buf := u.pending + piece
	k := u.holdFrom(buf)
	out := buf[:k]
	u.pending = buf[k:]
	if out == "" {
		return ""
	}
	u.prev = out[len(out)-1]
	return mask.Unmask(u.vault, out)
}

// Flush returns what is held back, unmasked: the answer ended.
func (u *StreamUnmasker) Flush() string {
	out := u.pending
	u.pending = ""
	if out == "" {
		return ""
	}
	u.prev = out[len(out)-1]
	return mask.Unmask(u.vault, out)
}

// holdFrom returns the first position of buf from which the rest could still be (the start
// of) a token beginning at a word boundary; len(buf) when there is none.
func (u *StreamUnmasker) holdFrom(buf string) int {
	for i := 0; i < len(buf); i++ {
		if i > 0 && isWordByte(buf[i-1]) && isWordByte(buf[i]) {
			continue // inside a word: no token starts here
		}
		if i == 0 && u.prev != 0 && isWordByte(u.prev) && isWordByte(buf[0]) {
			continue
		}
		rest := strings.ToLower(buf[i:])
		for _, t := range u.tokens {
			if len(rest) <= len(t) && strings.HasPrefix(t, rest) {
				return i
			}
		}
	}
	return len(buf)
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
