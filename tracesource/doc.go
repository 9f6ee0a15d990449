// Package tracesource fetches the trace behind an alert — from an OTLP-JSON trace API (Grafana
// Tempo, Jaeger v2) or Elastic APM documents in Elasticsearch — and converts it into Vigil's
// profile model.
package tracesource
