// Package roles is the role domain: the unit of LLM configuration (system message, LLM chain,
// parameters, response format, rate-limit interval), its YAML form and the default role pack.
package roles
