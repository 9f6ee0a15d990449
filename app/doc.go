// Package app assembles Vigil's processes (dev, server, worker) from configuration: the Temporal
// connection, the store, the worker and the HTTP API, with a clean shutdown.
package app
