// Package mcpserver is Vigil's MCP server: tools that let AI clients read the error stack
// traces, error messages, slow transactions and slow SQL behind the incidents Vigil holds.
package mcpserver
