// Package workflows holds Vigil's deterministic Temporal workflow code: the incident report, the
// role call (the LLM-chain loop) and their names, IDs and search attributes. No I/O happens here.
package workflows
