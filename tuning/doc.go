// Package tuning holds the code-tuning agent's code change: the problem put to the role
// code-tuner and the files its answer changes.
package tuning
