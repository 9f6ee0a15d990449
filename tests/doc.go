// Package tests holds Vigil's integration and end-to-end tests, which run against a real
// in-process Temporal server, real SQLite and PostgreSQL and real HTTP.
package tests
