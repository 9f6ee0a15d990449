// Package devserver embeds a Temporal server (persisted in SQLite) and the Temporal Web UI in
// Vigil's own process, for `vigil dev` and for integration tests.
package devserver
