// Package change holds change tracking's domain types: the deployment a release system
// announces, the verdict (the built-in analyst's from the comparison engine's findings, and the
// bound that keeps a model's verdict within them) and the enrichments behind it.
package change
