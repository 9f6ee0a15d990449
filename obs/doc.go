// Package obs sets up Vigil's structured logging and its Prometheus registry, into which the
// Temporal SDK's metrics are reported too.
package obs
