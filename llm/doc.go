// Package llm defines the provider interface every LLM call goes through, the provider registry
// and the built-in rule-based analyst provider that needs no network.
package llm
