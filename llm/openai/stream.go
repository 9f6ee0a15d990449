package openai

import (
	"context"
	"errors"
	"io"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vigil-ops/vigil/llm"
)

// Stream sends one streaming chat-completion request ("stream": true, with the usage in the
// last chunk) and hands each content delta to onDelta as it arrives. It returns the whole
// answer, as Complete does. A failure before the first delta is classified as Complete's are;
// one after it is too (usually ClassNetwork or ClassTimeout), and the caller knows from its
// onDelta calls that part of the answer was out. An error from onDelta ends the stream and is
// returned as is.
func (p *Provider) Stream(ctx context.Context, req llm.Request, onDelta func(string) error) (llm.Response, error) {
	creq, zeroKeys, err := buildRequest(req)
	if err != nil {
		return llm.Response{}, &llm.ProviderError{Provider: p.name, Class: llm.ClassBadRequest, Message: err.Error()}
	}
	creq.Stream = true
	creq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
	st := &callState{zeroKeys: zeroKeys}
	callCtx, cancel := context.WithTimeout(withState(ctx, st), p.timeout)
	defer cancel()

	stream, err := p.client.CreateChatCompletionStream(callCtx, creq)
	if err != nil {
		return llm.Response{}, p.classify(ctx, callCtx, st, err)
	}
	defer stream.Close()
	var out llm.Response
	var text strings.Builder
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Text = text.String()
			return out, p.classify(ctx, callCtx, st, err)
		}
		if resp.Model != "" {
			out.Model = resp.Model
		}
		if resp.Usage != nil {
			out.InputTokens, out.OutputTokens = int64(resp.Usage.PromptTokens), int64(resp.Usage.CompletionTokens)
		}
		for _, c := range resp.Choices {
			if c.Index != 0 {
				continue
			}
			if c.Delta.Refusal != "" {
				out.Text = text.String()
				return out, &llm.ProviderError{Provider: p.name, StatusCode: 200, Class: llm.ClassRefusal,
					Message: "the model refused: " + c.Delta.Refusal}
			}
			if c.Delta.Content != "" {
				text.WriteString(c.Delta.Content)
				if err := onDelta(c.Delta.Content); err != nil {
					out.Text = text.String()
					return out, err
				}
			}
			if c.FinishReason == goopenai.FinishReasonContentFilter {
				out.Text = text.String()
				return out, &llm.ProviderError{Provider: p.name, StatusCode: 200, Class: llm.ClassRefusal,
					Message: "the answer was withheld by the content filter (finish_reason content_filter)"}
			}
		}
	}
	out.Text = text.String()
	return out, nil
}
