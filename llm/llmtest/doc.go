// Package llmtest is a local HTTP server that speaks the OpenAI chat-completions wire format,
// with scriptable faults, for Vigil's tests and benchmarks.
//
// A Server answers POST {URL}/chat/completions (URL ends in /v1) and, for Azure-style clients,
// POST /openai/deployments/{deployment}/chat/completions. Each request is recorded as a
// Received and answered with a Reply chosen, in this order, by the handler set with
// SetHandler, the FIFO queue filled by Enqueue, or the default reply (200 with text "ok").
// Replies can delay, fail with an OpenAI-style error body, send raw bodies, set headers such
// as Retry-After, refuse, or hang up without answering.
//
// Requests the server rejects by itself (unknown path: 404, wrong method: 405, missing or
// wrong key on a NewServerWithKey server: 401, unparsable JSON: 400) are recorded too but do
// not consume a queued reply.
package llmtest
