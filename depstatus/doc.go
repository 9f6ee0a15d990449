// Package depstatus tracks whether the systems Vigil talks to (Prometheus, Alertmanager,
// Elasticsearch, trace sources, notify channels, LLM providers, Twilio, GitHub) answer, from real
// traffic and from light probes, for the status view, /healthz and Prometheus metrics.
package depstatus
