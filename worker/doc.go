// Package worker wires Vigil's workflows and activities onto task queues with their limits.
package worker
