// Package analyst is Vigil's built-in rule-based analyst: deterministic detectors over a transaction profile and a report writer that needs no LLM.
package analyst
