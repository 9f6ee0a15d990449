// Package llm defines the provider interface every LLM call goes through, the provider registry
// and the built-in analyst provider that needs no network and answers the task kinds registered with it.
package llm
