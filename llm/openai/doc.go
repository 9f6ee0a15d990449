// Package openai is Vigil's provider for OpenAI-compatible chat-completion APIs (OpenAI, Azure
// OpenAI, Gemini's and Anthropic's OpenAI-compatible endpoints, Ollama, vLLM), built on
// go-openai with its own retries off.
//
// # Retries
//
// go-openai (v1.43.0) has no retry logic of its own: CreateChatCompletion sends exactly one
// HTTP request through the configured HTTP client. Temporal owns retries: every failure is an
// *llm.ProviderError whose Retryable and RetryAfter tell the activity what to do. (Go's
// net/http may still transparently re-send a request on a reused keep-alive connection that
// failed before any byte of the request was written; that is not an application retry.)
//
// # Request mapping
//
// Request.System (when non-empty) becomes the first message with role "system", followed by
// Request.Messages in order with their roles unchanged. Parameters map to temperature, top_p,
// max_tokens, presence_penalty, frequency_penalty, seed and stop; a nil pointer (or a zero
// MaxTokens, an empty Stop) is omitted so the server's default applies.
//
// go-openai declares the sampling fields as float32 with `omitempty`, so an explicit 0 would
// silently disappear from the body — and temperature 0 would become the server's default of 1.
// The provider therefore remembers which of temperature, top_p, presence_penalty and
// frequency_penalty were set to 0 and its HTTP transport inserts them as `0` into the JSON
// body (the keys are known to be absent, so the rest of the body is sent byte for byte). Non-zero
// values go through float32, which encoding/json formats with 32-bit precision, so 0.7 is
// sent as 0.7.
//
// For the models go-openai treats as reasoning models (o1*, o3*, o4*, gpt-5*, GPT-6), it
// rejects max_tokens before sending; MaxTokens is sent as max_completion_tokens for them. Its
// other client-side checks (e.g. temperature other than 1 for those models) fail with
// ClassBadRequest without any request being sent.
//
// Response formats: "" and "text" send nothing; "json_object" sends
// {"type":"json_object"}; "json_schema" sends
// {"type":"json_schema","json_schema":{"name":...,"schema":...,"strict":true}} with the
// schema passed through verbatim as json.RawMessage (a schema name defaults to "response").
// OpenAI's strict mode requires every object in the schema to list all its properties as
// required and to set "additionalProperties": false; other schemas are rejected with 400.
//
// # Responses and errors
//
// The first choice's content is Response.Text; Response.Model is the model the server
// reports. The token usage is filled in even when the answer is rejected as a refusal or as
// malformed, so the cost can still be accounted for.
//
// Errors are *llm.ProviderError:
//
//	HTTP 429                               ClassRateLimited   retryable, RetryAfter
//	HTTP 5xx                               ClassServerError   retryable, RetryAfter when sent
//	HTTP 408, timeout, deadline exceeded   ClassTimeout       retryable
//	connection refused/reset, EOF          ClassNetwork       retryable
//	200 with an unparsable body            ClassMalformed     retryable
//	200 without choices                    ClassMalformed     retryable
//	HTTP 401, 403                          ClassAuth          not retryable
//	HTTP 404                               ClassNotFound      not retryable
//	4xx saying the prompt is too long      ClassContextLength not retryable
//	message.refusal, finish_reason         ClassRefusal       not retryable
//	content_filter, Azure 400 content_filter
//	HTTP 400 and other 4xx                 ClassBadRequest    not retryable
//	rejected by go-openai before sending   ClassBadRequest    not retryable
//
// "Prompt too long" is recognised by the code context_length_exceeded or by phrases such as
// "maximum context length" (OpenAI, vLLM), "prompt is too long" (Anthropic) and "exceeds the
// maximum number of tokens" (Gemini).
//
// When the caller's context is cancelled (not timed out), Complete returns an error wrapping
// context.Canceled instead of a ProviderError: a cancellation is not a provider failure.
//
// # Retry-After
//
// go-openai's APIError and RequestError carry the status and body of a failed response but
// not its headers. The provider therefore wraps the HTTP client's transport: each Complete
// call puts a fresh per-call record on the request context, and the transport stores the
// status, headers and any body read error of the response into the record it finds on the
// request's context. Concurrent calls never share a record. RetryAfter is taken from
// "retry-after-ms" (milliseconds, sent by OpenAI) or "Retry-After" (delay-seconds or an
// HTTP-date); a date in the past gives 0.
//
// # Azure OpenAI
//
// When Config.AzureAPIVersion is set, the client uses go-openai's DefaultAzureConfig: BaseURL
// is the resource endpoint (https://<resource>.openai.azure.com, without /openai or /v1), the
// key is sent in the "api-key" header, the request goes to
// {BaseURL}/openai/deployments/{model}/chat/completions?api-version={AzureAPIVersion}, and the
// link's model is used verbatim as the deployment name (go-openai's default mapper, which
// strips "." and ":" from model names, is replaced by the identity).
package openai
