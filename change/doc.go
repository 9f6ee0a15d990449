// Package change holds the change-tracking verdict: the built-in analyst's verdict from the
// comparison engine's findings, and the bound that keeps a model's verdict within them.
package change
