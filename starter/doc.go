// Package starter is everything that starts, signals or queries workflows from outside: Vigil's
// HTTP API and webhooks, with health, metrics and problem+json errors.
package starter
